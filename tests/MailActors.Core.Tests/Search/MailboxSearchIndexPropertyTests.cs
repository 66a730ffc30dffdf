using CsCheck;
using MailActors.Core.Search;
using Xunit;

namespace MailActors.Core.Tests.Search;

/// <summary>
/// The LSM index as the mailbox actor drives it: deliveries into memory, flushes to a (fake)
/// blob store, merges that drop deleted mail, flag changes, moves, deletions, and restarts
/// that restore the written segments, load them lazily and re-index only the unwritten tail.
/// After every run each generated query must return exactly what a brute-force scan of the
/// live messages returns, page by page.
/// </summary>
public class MailboxSearchIndexPropertyTests
{
    private abstract record Op;
    private sealed record Deliver(IndexedMessage Message, MessageFacts Facts, int Gap) : Op;
    private sealed record Delete(int Pick) : Op;
    private sealed record SetFlags(int Pick, bool Read, bool Flagged) : Op;
    private sealed record Move(int Pick, string Folder) : Op;
    private sealed record Flush : Op;
    private sealed record Merge : Op;
    private sealed record Restart : Op;

    private static readonly Gen<Op> Operation = Gen.Frequency(
        (12, Gen.Select(MessageIndexPropertyTests.Message, MessageIndexPropertyTests.Facts, Gen.Int[1, 3], (m, f, gap) => (Op)new Deliver(m, f, gap))),
        (3, Gen.Int[0, 1000].Select(pick => (Op)new Delete(pick))),
        (2, Gen.Select(Gen.Int[0, 1000], Gen.Bool, Gen.Bool, (pick, read, flagged) => (Op)new SetFlags(pick, read, flagged))),
        (2, Gen.Select(Gen.Int[0, 1000], Gen.OneOf(MessageIndexPropertyTests.Folders), (pick, folder) => (Op)new Move(pick, folder))),
        (2, Gen.Const((Op)new Flush())),
        (2, Gen.Const((Op)new Merge())),
        (1, Gen.Const((Op)new Restart())));

    [Fact]
    public void Segmented_index_returns_what_a_brute_force_scan_returns() =>
        Gen.Select(Operation.Array[1, 80], MessageIndexPropertyTests.QueryText.Array[12], Gen.Int[1, 5], Gen.Int[2, 8], Gen.Int[2, 4]).Sample(
            (ops, queries, pageSize, flushAt, mergeFactor) => Check(ops, queries, pageSize, flushAt, mergeFactor),
            iter: 400);

    private static void Check(Op[] ops, string[] queries, int pageSize, int flushAt, int mergeFactor)
    {
        var blobs = new Dictionary<BlobId, byte[]>();
        var index = new MailboxSearchIndex(flushAt, mergeFactor: mergeFactor);
        var live = new SortedDictionary<long, IndexedMessage>();
        var facts = new Dictionary<long, MessageFacts>();
        var next = 0L;

        long? Pick(int pick) => live.Count == 0 ? null : live.Keys.ElementAt(pick % live.Count);
        foreach (var op in ops)
        {
            switch (op)
            {
                case Deliver d:
                    next += d.Gap;
                    index.Add(next, d.Message);
                    live[next] = d.Message;
                    facts[next] = d.Facts with { HasAttachment = d.Message.AttachmentNames.Count > 0 };
                    if (index.FlushDue) WriteAll();
                    break;
                case Delete d when Pick(d.Pick) is { } gone:
                    live.Remove(gone);
                    facts.Remove(gone);
                    break;
                case SetFlags s when Pick(s.Pick) is { } flagged:
                    facts[flagged] = facts[flagged] with { Read = s.Read, Flagged = s.Flagged };
                    break;
                case Move m when Pick(m.Pick) is { } moved:
                    facts[moved] = facts[moved] with { FolderId = m.Folder };
                    break;
                case Flush:
                    index.Freeze();
                    WriteAll();
                    break;
                case Merge:
                    if (index.PlanMerge() is { } run)
                    {
                        var parts = run.Select(s => s.Index ?? MessageIndex.Deserialize(blobs[s.Ref!.Blob])).ToList();
                        var merged = MessageIndex.Merge(parts, live.ContainsKey);
                        index.Merged(run, Store(merged, run[0].MinId, run[^1].MaxId), run.All(s => s.Index is not null) ? merged : null);
                    }
                    break;
                case Restart:
                    // What a recovered mailbox does: written segments from the journal, the rest from message bodies.
                    var refs = index.WrittenRefs;
                    index = new MailboxSearchIndex(flushAt, mergeFactor: mergeFactor);
                    index.Restore(refs);
                    foreach (var (id, message) in live.Where(e => e.Key > index.IndexedThrough)) index.Add(id, message);
                    break;
            }
        }

        foreach (var r in index.Unloaded) Assert.True(index.Loaded(r, MessageIndex.Deserialize(blobs[r.Blob])));
        Assert.True(index.IsLoaded);
        var liveMessages = live.Select(e => (e.Key, e.Value, facts[e.Key])).ToList();
        foreach (var text in queries)
        {
            if (!SearchQuery.TryParse(text, out var query, out _)) continue;
            var expected = BruteForceSearch.Search(query, liveMessages);
            var all = index.Search(query, Facts, int.MaxValue);
            Assert.True(expected.SequenceEqual(all), $"{text} → {query}: expected [{string.Join(",", expected)}], got [{string.Join(",", all)}]");
            Assert.Equal(expected, Pages(query));
        }
        return;

        MessageFacts? Facts(long id) => facts.TryGetValue(id, out var f) ? f : null;

        void WriteAll()
        {
            foreach (var s in index.Segments.Where(s => s.Ref is null).ToList())
                index.Written(s, Store(s.Index!, s.MinId, s.MaxId));
        }

        SearchSegmentRef Store(MessageIndex segment, long min, long max)
        {
            var bytes = segment.Serialize();
            var id = BlobId.Of(bytes);
            blobs[id] = bytes;
            return new SearchSegmentRef(id, min, max, segment.Count, bytes.Length);
        }

        List<long> Pages(SearchQuery query)
        {
            var all = new List<long>();
            while (true)
            {
                var page = index.Search(query, Facts, pageSize, all.Count == 0 ? null : all[^1]);
                all.AddRange(page);
                if (page.Count < pageSize) return all;
            }
        }
    }

    [Fact]
    public void Merges_are_tiered_so_each_message_is_rewritten_a_logarithmic_number_of_times()
    {
        var index = new MailboxSearchIndex(flushAtMessages: 10, mergeFactor: 4);
        var rewritten = 0L;
        for (var id = 1L; id <= 2560; id++)
        {
            index.Add(id, new IndexedMessage("a@b.c", [], [], "s", "w" + id % 7, []));
            if (!index.FlushDue) continue;
            var segment = index.Freeze()!;
            index.Written(segment, new SearchSegmentRef(BlobId.Of(BitConverter.GetBytes(id)), segment.MinId, segment.MaxId, segment.Count, 1));
            while (index.PlanMerge() is { } run)
            {
                var merged = MessageIndex.Merge(run.Select(s => s.Index!), _ => true);
                rewritten += merged.Count;
                index.Merged(run, new SearchSegmentRef(BlobId.Of(BitConverter.GetBytes(-id)), run[0].MinId, run[^1].MaxId, merged.Count, 1), merged);
            }
        }
        // 256 flushes of 10 with factor 4 collapse into one segment of 2,560 after log4(256) = 4 rounds.
        Assert.Single(index.Segments);
        Assert.Equal(4 * 2560, rewritten);
        Assert.Equal(2560, index.Count);
    }
}
