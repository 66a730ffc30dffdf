using System.Collections.Concurrent;
using Akka.Actor;
using CsCheck;
using MailActors.Cluster.Mailboxes;
using MailActors.Cluster.Tests.Infrastructure;
using MailActors.Core;
using MailActors.Core.Search;
using MailActors.Core.Tests.Search;
using MailActors.Mime;
using MailActors.Storage.Blobs;
using MimeKit;
using Xunit;

namespace MailActors.Cluster.Tests;

/// <summary>
/// Search through the mailbox actor, with the real SQLite journal and file blob store: mail is
/// searchable when its delivery is acknowledged, state changes show at once, and the index
/// comes back after passivation (from its written segments, reading no message body) and after
/// a crash (re-reading only the bodies no written segment holds).
/// </summary>
public sealed class MailboxSearchTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly MailboxId Alice = MailboxId.Parse("alice@localhost");
    private static readonly TempDirectory Dir = new();
    private readonly string _db;
    private readonly CountingBlobStore _blobs;

    public MailboxSearchTests() : this(Path.Combine(Dir.Path, Guid.NewGuid().ToString("N"))) { }

    private MailboxSearchTests(string dir) : base(SqliteJournal.Setup(dir + ".db"))
    {
        _db = dir + ".db";
        _blobs = new CountingBlobStore(new FileBlobStore(dir + ".blobs"));
    }

    private IActorRef Mailbox(int flushAt = 1000, TimeSpan? unloadAfter = null) =>
        ChildActorOf(MailboxActor.Props(Alice, new MailboxSettings { SearchFlushAt = flushAt, SearchUnloadAfter = unloadAfter ?? TimeSpan.FromMinutes(5) }, _blobs));

    private IActorRef Registered(int flushAt = 1000, TimeSpan? unloadAfter = null)
    {
        var mailbox = Mailbox(flushAt, unloadAfter);
        mailbox.Tell(new RegisterMailbox(Alice, "hash", "Alice", 1L << 30));
        ExpectMsg<Done>();
        return mailbox;
    }

    /// <summary>Stores a real message and delivers it, with the body text as the SMTP edge passes it (or without).</summary>
    private (long Id, IndexedMessage Document, MessageMetadata Meta) Deliver(IActorRef mailbox, string from, string subject, string body,
        bool withText = true, DateTimeOffset? date = null, string? attachment = null)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse("alice@localhost"));
        message.Subject = subject;
        message.Date = date ?? new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);
        var builder = new BodyBuilder { TextBody = body };
        if (attachment is not null) builder.Attachments.Add(attachment, "attachment bytes"u8.ToArray());
        message.Body = builder.ToMessageBody();
        using var bytes = new MemoryStream();
        message.WriteTo(bytes);
        bytes.Position = 0;
        var stored = _blobs.PutAsync(bytes).GetAwaiter().GetResult();
        var meta = MessageParser.FromMime(message, stored.Id, stored.Size);
        var text = MessageParser.BodyText(message);
        mailbox.Tell(new DeliverMessage(Alice, Guid.NewGuid().ToString("N"), meta, BodyText: withText ? text : null));
        var reply = ExpectMsg<MessageDeliveredReply>();
        return (reply.MessageId, MailboxState.IndexedMessageOf(meta, text), meta);
    }

    private IReadOnlyList<long> Search(IActorRef mailbox, string query, int limit = 200, string? folder = null)
    {
        var ids = new List<long>();
        string? cursor = null;
        do
        {
            mailbox.Tell(new SearchMessages(Alice, query, limit, cursor, folder));
            var page = ExpectMsg<MessagePageReply>(TimeSpan.FromSeconds(10));
            ids.AddRange(page.Items.Select(m => m.Id));
            cursor = page.NextCursor;
        } while (cursor is not null);
        return ids;
    }

    private bool Exists(BlobId id) => _blobs.ExistsAsync(id).GetAwaiter().GetResult();

    /// <summary>Delete twice: to Trash, then out of the mailbox.</summary>
    private void Expunge(IActorRef mailbox, params long[] ids)
    {
        for (var i = 0; i < 2; i++)
        {
            mailbox.Tell(new DeleteMessages(Alice, ids));
            ExpectMsg<MessagesUpdatedReply>();
        }
    }

    private IActorRef Restart(IActorRef mailbox, bool graceful, int flushAt = 1000)
    {
        Watch(mailbox);
        if (graceful) mailbox.Tell(StopMailbox.Instance); // passivation or shard hand-off
        else Sys.Stop(mailbox); // as good as a crash: nothing is written on the way out
        ExpectTerminated(mailbox, TimeSpan.FromSeconds(10));
        Unwatch(mailbox);
        _blobs.Opened.Clear();
        return Mailbox(flushAt);
    }

    [Fact]
    public void Mail_is_searchable_when_its_delivery_is_acknowledged()
    {
        var mailbox = Registered();
        var zebra = Deliver(mailbox, "Bob Smith <bob.smith@example.org>", "Quarterly numbers", "The zebra crossing budget is approved.");
        Deliver(mailbox, "carol@example.net", "Lunch", "Shall we meet at the café?");

        Assert.Equal([zebra.Id], Search(mailbox, "zebra"));
        Assert.Equal([zebra.Id], Search(mailbox, "zeb")); // the last word is a prefix
        Assert.Equal([zebra.Id], Search(mailbox, "from:bob.smith quarterly"));
        Assert.Single(Search(mailbox, "CAFE")); // folds to "cafe", as "café" did
        Assert.Empty(Search(mailbox, "\"budget zebra\""));
        Assert.Equal([zebra.Id], Search(mailbox, "\"zebra crossing\""));
    }

    [Fact]
    public void Mail_delivered_without_text_is_indexed_from_its_blob_before_a_search_answers()
    {
        var mailbox = Registered();
        var first = Deliver(mailbox, "bob@example.org", "Report", "A platypus appeared.", withText: false);
        var second = Deliver(mailbox, "bob@example.org", "Report", "Another platypus.", withText: true);
        Assert.Equal([second.Id, first.Id], Search(mailbox, "platypus"));
    }

    [Fact]
    public void Flag_changes_moves_and_deletions_show_in_the_next_search()
    {
        var mailbox = Registered();
        var a = Deliver(mailbox, "bob@example.org", "Invoice 1", "invoice text", attachment: "invoice-2026.pdf");
        var b = Deliver(mailbox, "bob@example.org", "Invoice 2", "invoice text");
        var c = Deliver(mailbox, "bob@example.org", "Invoice 3", "invoice text");

        mailbox.Tell(new SetMessageFlags(Alice, [a.Id], MessageFlags.Seen | MessageFlags.Flagged, MessageFlags.None));
        ExpectMsg<MessagesUpdatedReply>();
        Assert.Equal([c.Id, b.Id], Search(mailbox, "invoice is:unread"));
        Assert.Equal([a.Id], Search(mailbox, "invoice is:flagged"));
        Assert.Equal([a.Id], Search(mailbox, "has:attachment filename:invoice"));

        mailbox.Tell(new CreateFolder(Alice, "Receipts"));
        var folder = ExpectMsg<FolderReply>().Folder;
        mailbox.Tell(new MoveMessages(Alice, [b.Id], folder.Id));
        ExpectMsg<MessagesUpdatedReply>();
        Assert.Equal([b.Id], Search(mailbox, "invoice in:receipts")); // by name, any case
        Assert.Equal([b.Id], Search(mailbox, "invoice", folder: folder.Id));
        Assert.Equal([c.Id, a.Id], Search(mailbox, "invoice -in:" + folder.Id));

        mailbox.Tell(new DeleteMessages(Alice, [c.Id]));
        ExpectMsg<MessagesUpdatedReply>();
        Assert.Equal([c.Id], Search(mailbox, "invoice in:trash"));
        Expunge(mailbox, c.Id);
        Assert.Equal([b.Id, a.Id], Search(mailbox, "invoice"));
    }

    [Fact]
    public void Bad_queries_limits_cursors_and_folders_get_clear_errors()
    {
        var mailbox = Registered();
        Deliver(mailbox, "bob@example.org", "Hello", "world");
        foreach (var (query, limit, cursor, folder, code) in new (string, int, string?, string?, MailboxErrorCode)[]
                 {
                     ("   ", 10, null, null, MailboxErrorCode.Invalid),
                     (new string('a', SearchQuery.MaxLength + 1), 10, null, null, MailboxErrorCode.Invalid),
                     ("hello", 0, null, null, MailboxErrorCode.Invalid),
                     ("hello", SearchMessages.MaxLimit + 1, null, null, MailboxErrorCode.Invalid),
                     ("hello", 10, "not-a-cursor", null, MailboxErrorCode.Invalid),
                     ("hello", 10, null, "no-such-folder", MailboxErrorCode.NotFound),
                 })
        {
            mailbox.Tell(new SearchMessages(Alice, query, limit, cursor, folder));
            Assert.Equal(code, ExpectMsg<MailboxError>().Code);
        }
        Assert.Single(Search(mailbox, "world"));
    }

    [Fact]
    public void After_passivation_the_index_comes_back_from_its_segments_without_reading_a_body()
    {
        var mailbox = Registered(flushAt: 4);
        var sent = Enumerable.Range(0, 10).Select(i => Deliver(mailbox, $"user{i % 3}@example.org", $"Subject {i}", $"body number{i} {(i % 2 == 0 ? "even" : "odd")}")).ToList();
        var before = Search(mailbox, "even");

        mailbox = Restart(mailbox, graceful: true, flushAt: 4);
        Assert.Equal(before, Search(mailbox, "even"));
        Assert.Equal([sent[7].Id], Search(mailbox, "number7 from:user1"));
        Assert.DoesNotContain(_blobs.Opened, id => sent.Any(s => s.Meta.Blob == id)); // segments only
        mailbox.Tell(new GetSearchStats(Alice));
        var stats = ExpectMsg<SearchStatsReply>();
        Assert.Equal(10, stats.Messages);
        Assert.InRange(stats.Segments, 1, 3);
        Assert.True(stats.DiskBytes > 0);
    }

    [Fact]
    public void After_a_crash_only_the_bodies_no_written_segment_holds_are_read_again()
    {
        var mailbox = Registered(flushAt: 4);
        var sent = Enumerable.Range(0, 10).Select(i => Deliver(mailbox, "bob@example.org", $"Subject {i}", $"body number{i} shared")).ToList();
        // 10 messages with flushes at 4: two segments written (ids 1–8) once the writes land, 2 in memory.
        AwaitAssert(() =>
        {
            mailbox.Tell(new GetSearchStats(Alice));
            Assert.Equal(2, ExpectMsg<SearchStatsReply>().Segments);
        }, TimeSpan.FromSeconds(10));

        mailbox = Restart(mailbox, graceful: false, flushAt: 4);
        Assert.Equal(sent.Select(s => s.Id).Reverse(), Search(mailbox, "shared"));
        var reread = sent.Where(s => _blobs.Opened.Contains(s.Meta.Blob)).Select(s => s.Id).ToList();
        Assert.Equal(sent.Skip(8).Select(s => s.Id), reread.Order());
    }

    [Fact]
    public void Segments_are_merged_in_the_background_and_merges_drop_deleted_mail()
    {
        var mailbox = Registered(flushAt: 2);
        var sent = Enumerable.Range(0, 16).Select(i => Deliver(mailbox, "bob@example.org", "Merge", $"word{i} common")).ToList();
        Expunge(mailbox, sent[0].Id, sent[1].Id);
        // 8 flushes of 2 with factor 4 end as 2 segments of 8 (or 1 of 16 once those merge too).
        AwaitAssert(() =>
        {
            mailbox.Tell(new GetSearchStats(Alice));
            var stats = ExpectMsg<SearchStatsReply>();
            Assert.InRange(stats.Segments, 1, 2);
            Assert.False(stats.Busy);
        }, TimeSpan.FromSeconds(10));
        Assert.Equal(sent.Skip(2).Select(s => s.Id).Reverse(), Search(mailbox, "common"));
        // The segments a merge replaced are deleted once the journal names the merged one; no message blob is.
        AwaitAssert(() => Assert.True(_blobs.Deleted.Count >= 4), TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(_blobs.Deleted, id => sent.Any(s => s.Meta.Blob == id));
        foreach (var id in _blobs.Deleted) Assert.False(Exists(id));
        mailbox = Restart(mailbox, graceful: true, flushAt: 2);
        Assert.Equal(sent.Skip(2).Select(s => s.Id).Reverse(), Search(mailbox, "common"));
    }

    [Fact]
    public void Segments_leave_memory_when_nobody_searches_and_come_back_for_the_next_search()
    {
        var mailbox = Registered(flushAt: 2, unloadAfter: TimeSpan.FromMilliseconds(300));
        var sent = Enumerable.Range(0, 6).Select(i => Deliver(mailbox, "bob@example.org", "Unload", $"word{i} common")).ToList();
        SearchStatsReply Stats()
        {
            mailbox.Tell(new GetSearchStats(Alice));
            return ExpectMsg<SearchStatsReply>();
        }
        long Memory() => Stats().MemoryBytes;
        // Never searched: the written segments are not kept in memory.
        AwaitAssert(() => Assert.Equal(3, Stats().Segments), TimeSpan.FromSeconds(10));
        var cold = Memory();
        Assert.Equal(6, Search(mailbox, "common").Count);
        var loaded = Memory();
        Assert.True(loaded > cold, $"{loaded} > {cold}");
        AwaitAssert(() => Assert.True(Memory() < loaded / 2), TimeSpan.FromSeconds(10));
        Assert.Equal(sent.Select(s => s.Id).Reverse(), Search(mailbox, "common"));
    }

    // ---- property: the actor against brute force, through restarts -----------------------------

    private static readonly string[] Words = ["alpha", "beta", "gamma", "report", "reports", "café", "Müller", "straße", "q1"];
    private static readonly string[] Senders = ["Bob <bob@example.org>", "carol@example.net", "dave.smith@mail.example.com"];

    private abstract record Op;
    private sealed record DeliverOp(int From, int[] Subject, int[] Body, bool WithText, int Day) : Op;
    private sealed record DeleteOp(int Pick) : Op;
    private sealed record ReadOp(int Pick, bool Read) : Op;
    private sealed record MoveOp(int Pick) : Op;
    private sealed record RestartOp(bool Graceful) : Op;

    private static readonly Gen<Op> Operation = Gen.Frequency(
        (10, Gen.Select(Gen.Int[0, Senders.Length - 1], Gen.Int[0, Words.Length - 1].Array[1, 3], Gen.Int[0, Words.Length - 1].Array[0, 8], Gen.Bool, Gen.Int[0, 30],
            (f, s, b, t, d) => (Op)new DeliverOp(f, s, b, t, d))),
        (2, Gen.Int[0, 100].Select(p => (Op)new DeleteOp(p))),
        (2, Gen.Select(Gen.Int[0, 100], Gen.Bool, (p, r) => (Op)new ReadOp(p, r))),
        (1, Gen.Int[0, 100].Select(p => (Op)new MoveOp(p))),
        (1, Gen.Bool.Select(g => (Op)new RestartOp(g))));

    private static readonly Gen<string> Query = Gen.Select(
        Gen.OneOf(Gen.OneOf(Words), Gen.OneOf(Words).Select(w => w[..Math.Max(1, w.Length / 2)]),
            Gen.Select(Gen.OneOf(Words), Gen.OneOf(Words), (a, b) => $"\"{a} {b}\""),
            Gen.Select(Gen.OneOf("subject", "body", "from"), Gen.OneOf(Words), (op, w) => $"{op}:{w}"),
            Gen.OneOf("from:bob", "from:example.net", "from:dave.smith", "is:unread", "is:read", "in:projects", "-in:inbox", "in:trash", "after:2026-11-15", "before:2026-11-10")).Array[1, 3],
        Gen.Bool, (pieces, space) => string.Join(' ', pieces) + (space ? " " : ""));

    [Fact]
    public void The_mailbox_actor_returns_what_a_brute_force_scan_returns_through_restarts()
    {
        var run = 0;
        Gen.Select(Operation.Array[5, 30], Query.Array[8], Gen.Int[2, 5]).Sample((ops, queries, flushAt) =>
        {
            var id = MailboxId.Parse($"prop{run++}@localhost");
            var mailbox = ChildActorOf(MailboxActor.Props(id, new MailboxSettings { SearchFlushAt = flushAt }, _blobs));
            mailbox.Tell(new RegisterMailbox(id, "hash", "P", 1L << 30));
            ExpectMsg<Done>();
            mailbox.Tell(new CreateFolder(id, "Projects"));
            var archive = ExpectMsg<FolderReply>().Folder.Id;
            var model = new SortedDictionary<long, (IndexedMessage Doc, MessageFacts Facts)>();

            long? Pick(int p) => model.Count == 0 ? null : model.Keys.ElementAt(p % model.Count);
            foreach (var op in ops)
            {
                switch (op)
                {
                    case DeliverOp d:
                        var message = new MimeMessage();
                        message.From.Add(MailboxAddress.Parse(Senders[d.From]));
                        message.To.Add(new MailboxAddress("", id.Value));
                        message.Subject = string.Join(' ', d.Subject.Select(i => Words[i]));
                        message.Date = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero).AddDays(d.Day);
                        message.Body = new TextPart("plain") { Text = string.Join(' ', d.Body.Select(i => Words[i])) };
                        using (var bytes = new MemoryStream())
                        {
                            message.WriteTo(bytes);
                            bytes.Position = 0;
                            var stored = _blobs.PutAsync(bytes).GetAwaiter().GetResult();
                            var meta = MessageParser.FromMime(message, stored.Id, stored.Size);
                            var text = MessageParser.BodyText(message);
                            mailbox.Tell(new DeliverMessage(id, Guid.NewGuid().ToString("N"), meta, BodyText: d.WithText ? text : null));
                            var delivered = ExpectMsg<MessageDeliveredReply>();
                            model[delivered.MessageId] = (MailboxState.IndexedMessageOf(meta, text),
                                new MessageFacts(SystemFolders.Inbox, false, false, false, stored.Size, message.Date));
                        }
                        break;
                    case DeleteOp x when Pick(x.Pick) is { } gone:
                        mailbox.Tell(new DeleteMessages(id, [gone]));
                        ExpectMsg<MessagesUpdatedReply>();
                        if (model[gone].Facts.FolderId == SystemFolders.Trash) model.Remove(gone);
                        else model[gone] = model[gone] with { Facts = model[gone].Facts with { FolderId = SystemFolders.Trash } };
                        break;
                    case ReadOp x when Pick(x.Pick) is { } read:
                        mailbox.Tell(new SetMessageFlags(id, [read], x.Read ? MessageFlags.Seen : MessageFlags.None, x.Read ? MessageFlags.None : MessageFlags.Seen));
                        ExpectMsg<MessagesUpdatedReply>();
                        model[read] = model[read] with { Facts = model[read].Facts with { Read = x.Read } };
                        break;
                    case MoveOp x when Pick(x.Pick) is { } moved:
                        mailbox.Tell(new MoveMessages(id, [moved], archive));
                        ExpectMsg<MessagesUpdatedReply>();
                        model[moved] = model[moved] with { Facts = model[moved].Facts with { FolderId = archive } };
                        break;
                    case RestartOp r:
                        Watch(mailbox);
                        if (r.Graceful) mailbox.Tell(StopMailbox.Instance);
                        else Sys.Stop(mailbox);
                        ExpectTerminated(mailbox, TimeSpan.FromSeconds(10));
                        Unwatch(mailbox);
                        mailbox = ChildActorOf(MailboxActor.Props(id, new MailboxSettings { SearchFlushAt = flushAt }, _blobs));
                        break;
                }
            }

            var messages = model.Select(e => (e.Key, e.Value.Doc, e.Value.Facts)).ToList();
            foreach (var text in queries)
            {
                // in:projects is resolved by folder name in the mailbox; the oracle compares ids.
                var oracleText = text.Replace("in:projects", "in:" + archive);
                if (!SearchQuery.TryParse(oracleText, out var query, out _)) continue;
                var expected = BruteForceSearch.Search(query, messages);
                var ids = new List<long>();
                string? cursor = null;
                do
                {
                    mailbox.Tell(new SearchMessages(id, text, 3, cursor));
                    var page = ExpectMsg<MessagePageReply>(TimeSpan.FromSeconds(10));
                    ids.AddRange(page.Items.Select(m => m.Id));
                    cursor = page.NextCursor;
                } while (cursor is not null);
                Assert.True(expected.SequenceEqual(ids), $"{text}: expected [{string.Join(",", expected)}], got [{string.Join(",", ids)}]");
            }
            Sys.Stop(mailbox);
        }, iter: 12, threads: 1);
    }

    public new void Dispose() => base.Dispose();

    /// <summary>The file store, recording which blobs were read (to prove what recovery does not read).</summary>
    private sealed class CountingBlobStore(IBlobStore inner) : IBlobStore
    {
        public ConcurrentBag<BlobId> Opened { get; } = [];

        public Task<BlobWriteResult> PutAsync(Stream content, CancellationToken cancellationToken = default) => inner.PutAsync(content, cancellationToken);

        public Task<Stream> OpenReadAsync(BlobId id, CancellationToken cancellationToken = default)
        {
            Opened.Add(id);
            return inner.OpenReadAsync(id, cancellationToken);
        }

        public Task<bool> ExistsAsync(BlobId id, CancellationToken cancellationToken = default) => inner.ExistsAsync(id, cancellationToken);

        public ConcurrentBag<BlobId> Deleted { get; } = [];

        public Task<bool> DeleteAsync(BlobId id, CancellationToken cancellationToken = default)
        {
            Deleted.Add(id);
            return inner.DeleteAsync(id, cancellationToken);
        }
    }
}
