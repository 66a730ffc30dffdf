using MailActors.Core.Search;
using MailActors.Core;
using MailActors.Core.Outbound;

namespace MailActors.Cluster.Tests;

internal static class Samples
{
    public static readonly MailboxId Alice = MailboxId.Parse("alice@localhost");

    public static MessageMetadata Meta(string subject = "Quarterly report", long size = 5120) => new(
        BlobId.Of(System.Text.Encoding.UTF8.GetBytes(subject + size)),
        size,
        "Bob <bob@example.org>",
        ["alice@localhost", "carol@localhost"],
        ["dave@example.org"],
        subject,
        new DateTimeOffset(2026, 12, 1, 10, 30, 0, TimeSpan.FromHours(2)),
        "<abc123@example.org>",
        "Hi Alice, the numbers for Q4 are attached — ünïcødé ✓",
        [new AttachmentInfo("report.pdf", "application/pdf", 4000)]);

    public const string SessionHash = "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg";
    public static readonly DateTimeOffset At = new(2026, 12, 1, 10, 30, 0, 123, TimeSpan.Zero);

    /// <summary>A notification with events of several kinds (and their different shapes) and folder counts.</summary>
    public static MailboxChanged Changed() => new(Alice, 41,
    [
        new MessageDelivered("d-1", 7, "inbox", 3, At, MessageFlags.None, Meta()),
        new MessageFlagsChanged([7, 8], MessageFlags.Seen, MessageFlags.Flagged),
        new MessagesMoved([8], "archive", 12),
        new MessagesExpunged([9]),
        new FolderCreated("f2", "Receipts", 1_700_000_001),
        new FolderRenamed("f2", "Bills"),
        new FoldersDeleted(["f3"]),
        new SessionClosed(SessionHash),
    ],
    [new FolderCount("inbox", 120, 7), new FolderCount("archive", 3000, 0), new FolderCount("f2", 0, 0)]);

    public static OutboundMessage Outbound() =>
        new("q1.example.org", "alice@localhost", ["bob@example.org", "carol@example.org"], Meta().Blob, 5120, At, At.AddDays(5));

    /// <summary>One instance of every protocol type the serializer handles.</summary>
    public static IEnumerable<object> All()
    {
        var summary = new MessageSummary(7, "inbox", 3, DateTimeOffset.UnixEpoch.AddDays(20000), MessageFlags.Seen | MessageFlags.Flagged, 12, Meta());
        var folder = new FolderInfo("f1", "Work/Projects", false, 10, 2, 1_700_000_000, 11, 42);
        var registered = new AccountRegistered("pbkdf2-sha256$100000$c2FsdA==$aGFzaA==", "Alice", 1 << 30, DateTimeOffset.UnixEpoch.AddDays(20000), 1_700_000_000);
        return
        [
            new RegisterMailbox(Alice, "hash", "Alice", 1000),
            new DeliverMessage(Alice, "d-1", Meta(), "f1", MessageFlags.Seen, "Hello Bob,\nthe quarterly report — ünïcødé ✓"),
            new CreateFolder(Alice, "Work"),
            new RenameFolder(Alice, "f1", "Jobs"),
            new DeleteFolder(Alice, "f1"),
            new SetMessageFlags(Alice, [1, 2], MessageFlags.Seen, MessageFlags.Flagged),
            new MoveMessages(Alice, [3], "archive"),
            new DeleteMessages(Alice, [4, 5]),
            new OpenSession(Alice, SessionHash, At.AddDays(30), "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"),
            new CloseSession(Alice, SessionHash),
            new GetAccount(Alice),
            new ListFolders(Alice),
            new ListMessages(Alice, "inbox", MessageStatusFilter.Unread, 50, "AQAAAAAAAAAH"),
            new GetMessage(Alice, 9),
            new CheckSession(Alice, SessionHash),
            new GetEventCursor(Alice),
            new SearchMessages(Alice, "from:bob \"quarterly report\" -is:read", 50, "AQAAAAAAAAAH", "inbox"),
            new GetSearchStats(Alice),
            new MailboxError(MailboxErrorCode.QuotaExceeded, "full"),
            new AccountInfo(Alice, "Alice", "hash", 100, 50, 3, DateTimeOffset.UnixEpoch),
            new MessageDeliveredReply(7, "inbox", 3, true),
            new FolderReply(folder),
            new FolderListReply([folder, folder with { Id = "inbox", IsSystem = true }]),
            new MessagePageReply([summary], "AQAAAAAAAAAH"),
            new MessageReply(summary),
            new MessagesUpdatedReply([1, 2], [3]),
            new SessionInfo(SessionHash, At, At.AddDays(30), "curl/8.5"),
            new EventCursorReply(12345),
            new SearchStatsReply(100_000, 3, 123_456_789, 98_765_432, Busy: true),
            Done.Instance,
            registered,
            new MessageDelivered("d-1", 7, "inbox", 3, DateTimeOffset.UnixEpoch.AddDays(20000), MessageFlags.None, Meta()),
            new MessageFlagsChanged([1, 2], MessageFlags.Seen, MessageFlags.None),
            new MessagesMoved([1, 2], "trash", 5),
            new MessagesExpunged([1]),
            new FolderCreated("f2", "Receipts", 1_700_000_001),
            new FolderRenamed("f2", "Bills"),
            new FoldersDeleted(["f2", "f3"]),
            new SessionOpened(SessionHash, At, At.AddDays(30), "Mozilla/5.0 — ünïcødé ✓"),
            new SessionClosed(SessionHash),
            new SearchSegmentsChanged([new SearchSegmentRef(BlobId.Of([1, 2, 3]), 1, 1000, 998, 1_234_567), new SearchSegmentRef(BlobId.Of([4]), 1001, 1500, 500, 654_321)]),
            Changed(),
            new MailboxSnapshot([1, 2, 3, 4]),
            new EnqueueOutbound("example.org", Outbound()),
            new RetryOutbound("example.org", null),
            new DeleteOutbound("example.org", "q1.example.org"),
            new ListOutbound("example.org"),
            new OutboundAccepted("q1.example.org"),
            new OutboundList("example.org", [new OutboundEntryInfo("q1.example.org", "alice@localhost", ["bob@example.org"], 2, At, At.AddMinutes(2), "451 4.7.1 try later")]),
            new OutboundUpdated(3),
            new OutboundQueued(Outbound()),
            new OutboundAttempted("q1.example.org", At, [new RecipientAttempt("bob@example.org", AttemptOutcome.PermanentFailure, "550 5.1.1 no such user"),
                new RecipientAttempt("carol@example.org", AttemptOutcome.TemporaryFailure, "451 4.3.0 later")], At.AddMinutes(1)),
            new OutboundBounced("q1.example.org", ["bob@example.org"]),
            new OutboundRescheduled("q1.example.org", At),
            new OutboundRemoved("q1.example.org"),
            new OutboundSnapshot([new OutboundSnapshotEntry(Outbound(), ["carol@example.org"],
                [new RecipientAttempt("bob@example.org", AttemptOutcome.PermanentFailure, "550 5.1.1 no such user")], 1, At.AddMinutes(1), "451 4.3.0 later")]),
        ];
    }
}
