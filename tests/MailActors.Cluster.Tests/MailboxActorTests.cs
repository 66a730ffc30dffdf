using Akka.Actor;
using Akka.Cluster.Sharding;
using MailActors.Cluster.Mailboxes;
using MailActors.Cluster.Tests.Infrastructure;
using MailActors.Core;
using Xunit;
using static MailActors.Cluster.Tests.Samples;

namespace MailActors.Cluster.Tests;

/// <summary>The mailbox actor on its own, with TestKit and the real SQLite journal.</summary>
public sealed class MailboxActorTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TempDirectory Dir = new();
    private readonly string _db;

    public MailboxActorTests() : this(Path.Combine(Dir.Path, $"{Guid.NewGuid():N}.db")) { }

    private MailboxActorTests(string db) : base(SqliteJournal.Setup(db)) => _db = db;

    private IActorRef Mailbox(MailboxId id, int snapshotEvery = 1000, TimeSpan? passivateAfter = null) =>
        ChildActorOf(MailboxActor.Props(id, new MailboxSettings { SnapshotEvery = snapshotEvery, PassivateAfter = passivateAfter ?? TimeSpan.FromMinutes(2) }));

    [Fact]
    public void An_unknown_mailbox_answers_no_such_mailbox_persists_nothing_and_asks_to_leave()
    {
        var mailbox = Mailbox(MailboxId.Parse("nobody@localhost"));
        mailbox.Tell(new DeliverMessage(MailboxId.Parse("nobody@localhost"), "d1", Meta()));
        // The parent (the shard, in production) is asked to passivate the entity.
        var passivate = FishForMessage<Passivate>(_ => true);
        Assert.IsType<StopMailbox>(passivate.StopMessage);
        mailbox.Tell(new GetAccount(MailboxId.Parse("nobody@localhost")));
        FishForMessage(m => m is MailboxError { Code: MailboxErrorCode.NoSuchMailbox });
        Assert.Equal(0, SqliteJournal.CountRows(_db, "journal"));
    }

    [Fact]
    public void Delivered_mail_is_listed_and_readable()
    {
        var mailbox = Mailbox(Alice);
        mailbox.Tell(new RegisterMailbox(Alice, "hash", "Alice", 1 << 20));
        ExpectMsg<Done>();
        mailbox.Tell(new DeliverMessage(Alice, "d1", Meta("first")));
        var delivered = ExpectMsg<MessageDeliveredReply>();
        mailbox.Tell(new ListMessages(Alice, SystemFolders.Inbox, MessageStatusFilter.Unread, 10));
        var page = ExpectMsg<MessagePageReply>();
        Assert.Equal(delivered.MessageId, Assert.Single(page.Items).Id);
        Assert.Equal("first", page.Items[0].Metadata.Subject);
    }

    [Fact]
    public void Over_quota_delivery_is_refused()
    {
        var mailbox = Mailbox(Alice);
        mailbox.Tell(new RegisterMailbox(Alice, "hash", "Alice", 6000));
        ExpectMsg<Done>();
        mailbox.Tell(new DeliverMessage(Alice, "d1", Meta(size: 5000)));
        ExpectMsg<MessageDeliveredReply>();
        mailbox.Tell(new DeliverMessage(Alice, "d2", Meta(size: 5000)));
        Assert.Equal(MailboxErrorCode.QuotaExceeded, ExpectMsg<MailboxError>().Code);
    }

    [Fact]
    public void Concurrent_retries_of_one_delivery_store_one_copy()
    {
        var mailbox = Mailbox(Alice);
        mailbox.Tell(new RegisterMailbox(Alice, "hash", "Alice", 1 << 20));
        ExpectMsg<Done>();
        for (var i = 0; i < 10; i++) mailbox.Tell(new DeliverMessage(Alice, "same-id", Meta()));
        var replies = Enumerable.Range(0, 10).Select(_ => ExpectMsg<MessageDeliveredReply>()).ToList();
        Assert.Single(replies.Select(r => r.MessageId).Distinct());
        Assert.Equal(9, replies.Count(r => r.Duplicate));
        mailbox.Tell(new ListFolders(Alice));
        Assert.Equal(1, ExpectMsg<FolderListReply>().Folders.Single(f => f.Id == SystemFolders.Inbox).Total);
    }

    [Fact]
    public void Writes_are_pipelined_and_every_reply_follows_its_write()
    {
        var mailbox = Mailbox(Alice, snapshotEvery: 50);
        mailbox.Tell(new RegisterMailbox(Alice, "hash", "Alice", 1 << 30));
        ExpectMsg<Done>();
        const int n = 300;
        for (var i = 0; i < n; i++) mailbox.Tell(new DeliverMessage(Alice, $"d{i}", Meta($"m{i}")));
        mailbox.Tell(new ListFolders(Alice)); // a read behind the writes sees all of them
        var ids = Enumerable.Range(0, n).Select(_ => ExpectMsg<MessageDeliveredReply>().MessageId).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(n, ExpectMsg<FolderListReply>().Folders.Single(f => f.Id == SystemFolders.Inbox).Total);
        Assert.Equal(n + 1, SqliteJournal.CountRows(_db, "journal"));
        AwaitAssert(() => Assert.Equal(1, SqliteJournal.CountRows(_db, "snapshot")), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void An_idle_mailbox_asks_to_passivate_and_stops_on_the_stop_message()
    {
        var mailbox = Mailbox(Alice, passivateAfter: TimeSpan.FromMilliseconds(300));
        mailbox.Tell(new RegisterMailbox(Alice, "hash", "Alice", 1 << 20));
        ExpectMsg<Done>();
        var passivate = ExpectMsg<Passivate>(TimeSpan.FromSeconds(5));
        Watch(mailbox);
        mailbox.Tell(passivate.StopMessage);
        ExpectTerminated(mailbox);

        // Recovery brings the mailbox back as it was.
        var again = Mailbox(Alice);
        again.Tell(new GetAccount(Alice));
        Assert.Equal("Alice", ExpectMsg<AccountInfo>().DisplayName);
    }

    public new void Dispose() => base.Dispose();
}
