using CsCheck;
using MailActors.Core.Search;
using Xunit;

namespace MailActors.Core.Tests.Search;

/// <summary>
/// Random small mailboxes (words from a small vocabulary so queries hit) go through random
/// deliveries, deletions, re-indexing, flag changes, moves and compactions; then every
/// generated query must return exactly what <see cref="BruteForceSearch"/> finds in the live
/// messages, page by page, and again after Serialize → Deserialize.
/// </summary>
public class MessageIndexPropertyTests
{
    private static readonly string[] Vocabulary =
        ["alpha", "beta", "gamma", "report", "reports", "quarterly", "Müller", "MULLER", "straße", "café", "東", "京", "naïve", "e-mail", "x1"];

    private static readonly string[] Addresses =
    [
        "Ann <ann@example.com>", "bob.smith@example.com", "Carl Müller <carl@mail.example.org>", "dora@test.io",
        "\"Report Bot\" <noreply@reports.example.com>",
    ];

    private static readonly string[] Attachments = ["report.pdf", "alpha beta.txt", "Müller.doc", "東京.png", "q1-report.xlsx"];
    internal static readonly string[] Folders = ["inbox", "archive", "Trash"];
    private static readonly string[] Separators = [" ", " ", " ", ", ", ". ", "\n", "-", "/"];
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Gen<string> Text(int maxWords) =>
        Gen.Select(Gen.OneOf(Vocabulary), Gen.OneOf(Separators)).Array[0, maxWords]
            .Select(parts => string.Concat(parts.Select(p => p.Item1 + p.Item2)));

    internal static readonly Gen<IndexedMessage> Message =
        Gen.Select(Gen.OneOf(Addresses), Gen.OneOf(Addresses).Array[0, 3], Gen.OneOf(Addresses).Array[0, 2], Text(4), Text(12), Gen.OneOf(Attachments).Array[0, 2],
            (from, to, cc, subject, body, files) => new IndexedMessage(from, to, cc, subject, body, files));

    internal static readonly Gen<MessageFacts> Facts =
        Gen.Select(Gen.OneOf(Folders), Gen.Bool, Gen.Bool, Gen.Long[0, 100_000], Gen.Int[0, 59 * 86_400],
            (folder, read, flagged, size, seconds) => new MessageFacts(folder, read, flagged, false, size, Epoch.AddSeconds(seconds)));

    private abstract record Op;
    private sealed record Deliver(IndexedMessage Message, MessageFacts Facts, int Gap) : Op;
    private sealed record DeliverLate(IndexedMessage Message, MessageFacts Facts, int Pick) : Op; // an unused id below the newest
    private sealed record Reindex(int Pick, IndexedMessage Message) : Op; // same id, new text (also brings back a deleted one)
    private sealed record Delete(int Pick) : Op;
    private sealed record SetFlags(int Pick, bool Read, bool Flagged) : Op;
    private sealed record Move(int Pick, string Folder) : Op;
    private sealed record Compact : Op;

    private static readonly Gen<Op> Operation = Gen.Frequency(
        (10, Gen.Select(Message, Facts, Gen.Int[1, 3], (m, f, gap) => (Op)new Deliver(m, f, gap))),
        (1, Gen.Select(Message, Facts, Gen.Int[0, 1000], (m, f, pick) => (Op)new DeliverLate(m, f, pick))),
        (1, Gen.Select(Gen.Int[0, 1000], Message, (pick, m) => (Op)new Reindex(pick, m))),
        (4, Gen.Int[0, 1000].Select(pick => (Op)new Delete(pick))),
        (2, Gen.Select(Gen.Int[0, 1000], Gen.Bool, Gen.Bool, (pick, read, flagged) => (Op)new SetFlags(pick, read, flagged))),
        (2, Gen.Select(Gen.Int[0, 1000], Gen.OneOf(Folders), (pick, folder) => (Op)new Move(pick, folder))),
        (1, Gen.Const((Op)new Compact())));

    /// <summary>Query pieces from the same vocabulary and operators; joined, with or without a trailing space (prefix).</summary>
    private static readonly Gen<string> QueryPiece = Gen.OneOf(
        Gen.OneOf(Vocabulary),
        Gen.OneOf(Vocabulary).Select(w => w[..Math.Max(1, w.Length / 2)]),
        Gen.Select(Gen.OneOf(Vocabulary), Gen.OneOf(Vocabulary), (a, b) => $"\"{a} {b}\""),
        Gen.Select(Gen.OneOf("from", "to", "cc", "subject", "body", "filename"), Gen.OneOf(Vocabulary), (op, w) => $"{op}:{w}"),
        Gen.Select(Gen.OneOf("from", "to", "cc"),
            Gen.OneOf("ann", "ann@example.com", "example.com", "bob.smith", "bob.sm", "mail.example.org", "example.org", "@test.io", "carl", "muller",
                "\"Report Bot\"", "reports.example.com", "smith@example.com", "noreply@rep"),
            (op, v) => $"{op}:{v}"),
        Gen.OneOf("filename:report.pdf", "filename:\"alpha beta\"", "subject:\"quarterly report\"", "\"report pdf\"", "bob.smith", "q1", "東京", "e-mail"),
        Gen.OneOf("has:attachment", "is:unread", "is:read", "is:flagged", "in:inbox", "in:ARCHIVE", "in:trash", "in:nowhere"),
        Gen.Select(Gen.OneOf("before", "after"), Gen.Int[0, 60], (op, day) => $"{op}:{Epoch.AddDays(day):yyyy-MM-dd}"),
        Gen.Select(Gen.OneOf("larger", "smaller"), Gen.OneOf("10k", "50000", "1M", "0"), (op, size) => $"{op}:{size}"));

    internal static readonly Gen<string> QueryText =
        Gen.Select(Gen.Select(Gen.Bool, Gen.Int[0, 4], QueryPiece).Array[1, 4], Gen.Bool,
            (pieces, trailingSpace) => string.Join(' ', pieces.Select(p => (p.Item1 && p.Item2 == 0 ? "-" : "") + p.Item3)) + (trailingSpace ? " " : ""));

    [Fact]
    public void Index_returns_what_a_brute_force_scan_returns() =>
        Gen.Select(Operation.Array[1, 40], QueryText.Array[12], Gen.Int[1, 4], Gen.Int[1, 300]).Sample(
            (ops, queries, pageSize, compactAfter) => Check(ops, queries, pageSize, compactAfter),
            iter: 800);

    /// <summary>Fewer, bigger mailboxes: posting lists span several blocks (seeks across block boundaries, skip tables).</summary>
    [Fact]
    public void Index_matches_brute_force_on_mailboxes_bigger_than_a_block() =>
        Gen.Select(Operation.Array[300, 700], QueryText.Array[30], Gen.Int[3, 40], Gen.Int[1, 1000]).Sample(
            (ops, queries, pageSize, compactAfter) => Check(ops, queries, pageSize, compactAfter),
            iter: 20);

    private static void Check(Op[] ops, string[] queries, int pageSize, int compactAfter)
    {
        var index = new MessageIndex(compactAfter);
        var live = new Dictionary<long, IndexedMessage>();
        var facts = new Dictionary<long, MessageFacts>(); // kept after deletion: the index must drop deleted ids itself
        var used = new List<long>();
        var next = 0L;

        long Pick(int pick) => used[pick % used.Count];
        foreach (var op in ops)
        {
            switch (op)
            {
                case Deliver d:
                    next += d.Gap;
                    Index(next, d.Message, d.Facts);
                    break;
                case DeliverLate d:
                    var free = Enumerable.Range(1, (int)next).Select(i => (long)i).Where(i => !facts.ContainsKey(i)).ToList();
                    if (free.Count > 0) Index(free[d.Pick % free.Count], d.Message, d.Facts);
                    break;
                case Reindex r when used.Count > 0:
                    var id = Pick(r.Pick);
                    index.Add(id, r.Message);
                    live[id] = r.Message;
                    break;
                case Delete d when used.Count > 0:
                    var gone = Pick(d.Pick);
                    Assert.Equal(live.Remove(gone), index.Remove(gone));
                    break;
                case SetFlags s when used.Count > 0:
                    var flagged = Pick(s.Pick);
                    facts[flagged] = facts[flagged] with { Read = s.Read, Flagged = s.Flagged };
                    break;
                case Move m when used.Count > 0:
                    var moved = Pick(m.Pick);
                    facts[moved] = facts[moved] with { FolderId = m.Folder };
                    break;
                case Compact:
                    index.Compact();
                    break;
            }
        }
        Assert.Equal(live.Count, index.Count);

        var restored = MessageIndex.Deserialize(index.Serialize());
        Assert.Equal(index.Serialize(), restored.Serialize());
        Assert.Equal(index.Count, restored.Count);

        var liveMessages = live.Select(e => (e.Key, e.Value, facts[e.Key])).ToList();
        foreach (var text in queries)
        {
            if (!SearchQuery.TryParse(text, out var query, out _)) continue;
            var expected = BruteForceSearch.Search(query, liveMessages);
            Assert.True(expected.SequenceEqual(index.Search(query, Facts, int.MaxValue)), $"{text} → {query}: expected [{string.Join(",", expected)}], got [{string.Join(",", index.Search(query, Facts, int.MaxValue))}]");
            Assert.Equal(expected, restored.Search(query, Facts, int.MaxValue));
            Assert.Equal(expected, Pages(index, query, pageSize));
        }
        return;

        MessageFacts? Facts(long id) => facts.TryGetValue(id, out var f) ? f : null;

        void Index(long id, IndexedMessage message, MessageFacts f)
        {
            index.Add(id, message);
            live[id] = message;
            facts[id] = f with { HasAttachment = message.AttachmentNames.Count > 0 };
            used.Add(id);
        }

        List<long> Pages(MessageIndex ix, SearchQuery query, int size)
        {
            var all = new List<long>();
            while (true)
            {
                var page = ix.Search(query, Facts, size, all.Count == 0 ? null : all[^1]);
                all.AddRange(page);
                if (page.Count < size) return all;
            }
        }
    }
}
