using MailActors.Core;
using Xunit;
using static MailActors.Core.Tests.Fixtures;

namespace MailActors.Core.Tests;

public class MailboxStateTests
{
    [Fact]
    public void Registering_creates_the_system_folders_with_uid_state()
    {
        var state = Registered();
        var folders = state.Run<FolderListReply>(new ListFolders(Alice)).Folders;
        Assert.Equal(["Inbox", "Sent", "Drafts", "Trash", "Spam", "Archive"], folders.Select(f => f.Name));
        Assert.All(folders, f => Assert.True(f.IsSystem && f.UidNext == 1 && f.UidValidity > 0 && f.Total == 0));
    }

    [Fact]
    public void Registering_twice_is_refused()
    {
        var state = Registered();
        var reply = state.Run(new RegisterMailbox(Alice, "other", "", 10));
        Assert.Equal(MailboxErrorCode.AlreadyExists, Assert.IsType<MailboxError>(reply).Code);
        Assert.Equal("hash", state.Account!.PasswordHash);
    }

    [Fact]
    public void Commands_for_an_unregistered_mailbox_produce_no_events()
    {
        var state = new MailboxState(Alice);
        foreach (IMailboxCommand c in new IMailboxCommand[]
                 {
                     new DeliverMessage(Alice, "d1", Meta()), new CreateFolder(Alice, "Work"), new ListFolders(Alice),
                     new GetMessage(Alice, 1), new SetMessageFlags(Alice, [1], MessageFlags.Seen, 0),
                 })
        {
            var decision = state.Decide(c, T0);
            Assert.Empty(decision.Events);
            Assert.Equal(MailboxErrorCode.NoSuchMailbox, Assert.IsType<MailboxError>(decision.Reply).Code);
        }
    }

    [Fact]
    public void Delivery_lands_in_inbox_unread_with_uid_and_modseq()
    {
        var state = Registered();
        var before = state.Folder(SystemFolders.Inbox).HighestModSeq;
        var reply = state.Run<MessageDeliveredReply>(new DeliverMessage(Alice, "d1", Meta("Invoice", attachment: "invoice.pdf")));
        Assert.Equal((SystemFolders.Inbox, 1u, false), (reply.FolderId, reply.Uid, reply.Duplicate));
        var inbox = state.Folder(SystemFolders.Inbox);
        Assert.Equal((1, 1, 2u), (inbox.Total, inbox.Unread, inbox.UidNext));
        Assert.True(inbox.HighestModSeq > before);
        var message = state.Run<MessageReply>(new GetMessage(Alice, reply.MessageId)).Message;
        Assert.Equal("Invoice", message.Metadata.Subject);
        Assert.Equal("invoice.pdf", Assert.Single(message.Metadata.Attachments).FileName);
        Assert.False(message.IsRead);
    }

    [Fact]
    public void A_retried_delivery_does_not_create_a_second_copy()
    {
        var state = Registered();
        var first = state.Run<MessageDeliveredReply>(new DeliverMessage(Alice, "smtp-42", Meta()));
        var again = state.Decide(new DeliverMessage(Alice, "smtp-42", Meta()), T0.AddMinutes(5));
        Assert.Empty(again.Events);
        var reply = Assert.IsType<MessageDeliveredReply>(again.Reply);
        Assert.True(reply.Duplicate);
        Assert.Equal(first.MessageId, reply.MessageId);
        Assert.Equal(1, state.Folder(SystemFolders.Inbox).Total);
    }

    [Fact]
    public void Delivery_ids_are_forgotten_after_the_retention_window()
    {
        var state = Registered();
        state.Deliver(deliveryId: "old", at: T0);
        state.Deliver(deliveryId: "new", at: T0 + MailboxState.DeliveryIdRetention + TimeSpan.FromHours(1));
        var retry = state.Decide(new DeliverMessage(Alice, "old", Meta()), T0 + MailboxState.DeliveryIdRetention + TimeSpan.FromHours(2));
        Assert.Single(retry.Events);
    }

    [Fact]
    public void Delivery_beyond_quota_is_refused_with_a_distinct_code()
    {
        var state = Registered(quota: 2500);
        state.Deliver(size: 2000);
        var reply = state.Run(new DeliverMessage(Alice, "d2", Meta(size: 600)));
        Assert.Equal(MailboxErrorCode.QuotaExceeded, Assert.IsType<MailboxError>(reply).Code);
        Assert.Equal(1, state.MessageCount);
        state.Deliver(size: 500); // exactly at quota is fine
        Assert.Equal(2500, state.UsedBytes);
    }

    [Fact]
    public void Listing_is_newest_first_and_pages_with_a_cursor()
    {
        var state = Registered();
        var ids = Enumerable.Range(0, 23).Select(i => state.Deliver($"m{i}")).ToList();
        string? cursor = null;
        var first = state.Page(SystemFolders.Inbox, MessageStatusFilter.All, 10, ref cursor);
        Assert.Equal(ids.AsEnumerable().Reverse().Take(10), first);
        Assert.NotNull(cursor);
        Assert.Equal(ids.AsEnumerable().Reverse(), state.All(SystemFolders.Inbox));
        var last = state.Run<MessagePageReply>(new ListMessages(Alice, SystemFolders.Inbox, MessageStatusFilter.All, 23));
        Assert.Null(last.NextCursor);
    }

    [Fact]
    public void Pages_stay_stable_when_mail_arrives_between_them()
    {
        var state = Registered();
        var ids = Enumerable.Range(0, 30).Select(i => state.Deliver($"m{i}")).ToList();
        var seen = new List<long>();
        string? cursor = null;
        do
        {
            seen.AddRange(state.Page(SystemFolders.Inbox, MessageStatusFilter.All, 7, ref cursor));
            state.Deliver("late arrival"); // newer than anything paged so far
        } while (cursor is not null);
        Assert.Equal(ids.AsEnumerable().Reverse(), seen); // no duplicates, no gaps
    }

    [Fact]
    public void Read_and_unread_filters_page_correctly()
    {
        var state = Registered();
        var ids = Enumerable.Range(0, 40).Select(i => state.Deliver($"m{i}")).ToList();
        var read = ids.Where((_, i) => i % 3 == 0).ToList();
        state.Run<MessagesUpdatedReply>(new SetMessageFlags(Alice, read, MessageFlags.Seen, MessageFlags.None));
        Assert.Equal(read.AsEnumerable().Reverse(), state.All(SystemFolders.Inbox, MessageStatusFilter.Read, limit: 4));
        Assert.Equal(ids.Except(read).Reverse(), state.All(SystemFolders.Inbox, MessageStatusFilter.Unread, limit: 4));
        Assert.Equal(ids.AsEnumerable().Reverse(), state.All(SystemFolders.Inbox, MessageStatusFilter.All, limit: 4));
        var inbox = state.Folder(SystemFolders.Inbox);
        Assert.Equal((40, 40 - read.Count), (inbox.Total, inbox.Unread));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(201)]
    public void Page_limits_outside_1_to_200_are_invalid(int limit)
    {
        var state = Registered();
        var reply = state.Run(new ListMessages(Alice, SystemFolders.Inbox, MessageStatusFilter.All, limit));
        Assert.Equal(MailboxErrorCode.Invalid, Assert.IsType<MailboxError>(reply).Code);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("AQAAAAAAAAAA")]
    [InlineData("")]
    public void A_forged_cursor_is_invalid(string cursor)
    {
        var state = Registered();
        var reply = state.Run(new ListMessages(Alice, SystemFolders.Inbox, MessageStatusFilter.All, 10, cursor));
        Assert.Equal(MailboxErrorCode.Invalid, Assert.IsType<MailboxError>(reply).Code);
    }

    [Fact]
    public void Mark_read_unread_and_flag_update_counts_and_modseq()
    {
        var state = Registered();
        var id = state.Deliver();
        var modseq = state.Run<MessageReply>(new GetMessage(Alice, id)).Message.ModSeq;
        state.Run<MessagesUpdatedReply>(new SetMessageFlags(Alice, [id], MessageFlags.Seen | MessageFlags.Flagged, MessageFlags.None));
        var m = state.Run<MessageReply>(new GetMessage(Alice, id)).Message;
        Assert.True(m.IsRead && m.IsFlagged && m.ModSeq > modseq);
        Assert.Equal(0, state.Folder(SystemFolders.Inbox).Unread);
        state.Run<MessagesUpdatedReply>(new SetMessageFlags(Alice, [id], MessageFlags.None, MessageFlags.Seen));
        Assert.Equal(1, state.Folder(SystemFolders.Inbox).Unread);
        // No change = no event.
        Assert.Empty(state.Decide(new SetMessageFlags(Alice, [id], MessageFlags.Flagged, MessageFlags.None), T0).Events);
    }

    [Fact]
    public void Unknown_message_ids_are_reported_not_failed()
    {
        var state = Registered();
        var id = state.Deliver();
        var reply = state.Run<MessagesUpdatedReply>(new SetMessageFlags(Alice, [id, 999], MessageFlags.Seen, MessageFlags.None));
        Assert.Equal([id], reply.Updated);
        Assert.Equal([999L], reply.NotFound);
        Assert.Equal(MailboxErrorCode.NotFound, Assert.IsType<MailboxError>(state.Run(new GetMessage(Alice, 999))).Code);
    }

    [Fact]
    public void Move_assigns_new_uids_in_the_target_folder()
    {
        var state = Registered();
        var ids = Enumerable.Range(0, 3).Select(i => state.Deliver($"m{i}")).ToList();
        state.Run<MessagesUpdatedReply>(new MoveMessages(Alice, ids[..2], SystemFolders.Archive));
        var archive = state.Folder(SystemFolders.Archive);
        Assert.Equal((2, 3u), (archive.Total, archive.UidNext));
        Assert.Equal(1, state.Folder(SystemFolders.Inbox).Total);
        Assert.Equal(2u, state.Run<MessageReply>(new GetMessage(Alice, ids[1])).Message.Uid);
        Assert.Equal(MailboxErrorCode.NotFound, Assert.IsType<MailboxError>(state.Run(new MoveMessages(Alice, ids, "nope"))).Code);
    }

    [Fact]
    public void Delete_moves_to_trash_and_deleting_from_trash_expunges()
    {
        var state = Registered();
        var id = state.Deliver(size: 700);
        state.Run<MessagesUpdatedReply>(new DeleteMessages(Alice, [id]));
        Assert.Equal(SystemFolders.Trash, state.Run<MessageReply>(new GetMessage(Alice, id)).Message.FolderId);
        Assert.Equal(700, state.UsedBytes);
        state.Run<MessagesUpdatedReply>(new DeleteMessages(Alice, [id]));
        Assert.IsType<MailboxError>(state.Run(new GetMessage(Alice, id)));
        Assert.Equal((0, 0L), (state.Folder(SystemFolders.Trash).Total, state.UsedBytes));
    }

    [Fact]
    public void Folders_are_created_renamed_with_children_and_deleted_to_trash()
    {
        var state = Registered();
        var work = state.Run<FolderReply>(new CreateFolder(Alice, "Work")).Folder;
        var projects = state.Run<FolderReply>(new CreateFolder(Alice, "Work/Projects")).Folder;
        Assert.NotEqual(work.Id, projects.Id);
        var m = state.Deliver(folder: projects.Id);

        state.Run<FolderReply>(new RenameFolder(Alice, work.Id, "Jobs"));
        Assert.Equal("Jobs/Projects", state.Folder(projects.Id).Name);

        state.Run<Done>(new DeleteFolder(Alice, work.Id));
        var names = state.Run<FolderListReply>(new ListFolders(Alice)).Folders.Select(f => f.Name).ToList();
        Assert.DoesNotContain("Jobs", names);
        Assert.DoesNotContain("Jobs/Projects", names);
        Assert.Equal(SystemFolders.Trash, state.Run<MessageReply>(new GetMessage(Alice, m)).Message.FolderId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("a//b")]
    [InlineData("/lead")]
    [InlineData("trail/")]
    [InlineData("inbox")]
    [InlineData("Trash")]
    [InlineData("bad\u0001name")]
    [InlineData("star*")]
    public void Invalid_folder_names_are_refused(string name)
    {
        var state = Registered();
        Assert.Equal(MailboxErrorCode.Invalid, Assert.IsType<MailboxError>(state.Run(new CreateFolder(Alice, name))).Code);
    }

    [Fact]
    public void Duplicate_names_and_system_folder_changes_are_refused()
    {
        var state = Registered();
        state.Run<FolderReply>(new CreateFolder(Alice, "Work"));
        Assert.Equal(MailboxErrorCode.AlreadyExists, Assert.IsType<MailboxError>(state.Run(new CreateFolder(Alice, "work"))).Code);
        Assert.Equal(MailboxErrorCode.Forbidden, Assert.IsType<MailboxError>(state.Run(new DeleteFolder(Alice, SystemFolders.Inbox))).Code);
        Assert.Equal(MailboxErrorCode.Forbidden, Assert.IsType<MailboxError>(state.Run(new RenameFolder(Alice, SystemFolders.Sent, "Outbox"))).Code);
        var work = state.Folder("f1");
        Assert.Equal(MailboxErrorCode.Invalid, Assert.IsType<MailboxError>(state.Run(new RenameFolder(Alice, work.Id, "Work/Sub"))).Code);
    }

    [Fact]
    public void A_recreated_folder_gets_a_new_uidvalidity()
    {
        var state = Registered();
        var first = state.Run<FolderReply>(new CreateFolder(Alice, "Work")).Folder;
        state.Run<Done>(new DeleteFolder(Alice, first.Id));
        var second = state.Run<FolderReply>(new CreateFolder(Alice, "Work")).Folder; // same second
        Assert.NotEqual(first.UidValidity, second.UidValidity);
        Assert.NotEqual(first.Id, second.Id);
    }

    [Fact]
    public void Snapshot_round_trip_restores_identical_state()
    {
        var state = Registered();
        var work = state.Run<FolderReply>(new CreateFolder(Alice, "Work")).Folder;
        var ids = Enumerable.Range(0, 50).Select(i => state.Deliver($"m{i}", folder: i % 2 == 0 ? work.Id : null, deliveryId: $"d{i}")).ToList();
        state.Run<MessagesUpdatedReply>(new SetMessageFlags(Alice, ids[..10], MessageFlags.Seen, MessageFlags.None));
        state.Run<MessagesUpdatedReply>(new DeleteMessages(Alice, ids[10..15]));

        var restored = MailboxState.FromSnapshot(new MailboxSnapshot(state.ToSnapshot().Data.ToArray()));

        Assert.Equal(Render(state), Render(restored));
        Assert.Equal(state.UsedBytes, restored.UsedBytes);
        Assert.True(Assert.IsType<MessageDeliveredReply>(restored.Decide(new DeliverMessage(Alice, "d3", Meta()), T0).Reply).Duplicate);
        Assert.Equal(state.Deliver("next"), restored.Deliver("next"));
    }

    [Fact]
    public void A_damaged_snapshot_is_refused_not_half_loaded()
    {
        var state = Registered();
        state.Deliver();
        var data = state.ToSnapshot().Data;
        Assert.ThrowsAny<Exception>(() => MailboxState.FromSnapshot(new MailboxSnapshot(data[..^3])));
        Assert.ThrowsAny<Exception>(() => MailboxState.FromSnapshot(new MailboxSnapshot([.. data, 0])));
        Assert.ThrowsAny<Exception>(() => MailboxState.FromSnapshot(new MailboxSnapshot([99, .. data[1..]])));
    }

    internal static string Render(MailboxState s)
    {
        var folders = s.Run<FolderListReply>(new ListFolders(Alice)).Folders;
        var lines = folders.Select(f => f.ToString()).ToList();
        foreach (var f in folders)
        foreach (var id in s.All(f.Id, limit: 200))
        {
            var m = s.Run<MessageReply>(new GetMessage(Alice, id)).Message;
            lines.Add($"{m with { Metadata = null! }} {System.Text.Json.JsonSerializer.Serialize(m.Metadata)}");
        }
        return string.Join('\n', lines);
    }
}
