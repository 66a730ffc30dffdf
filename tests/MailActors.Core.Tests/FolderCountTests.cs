using MailActors.Core;
using Xunit;
using static MailActors.Core.Tests.Fixtures;

namespace MailActors.Core.Tests;

/// <summary>The folder counts a mailbox publishes with each change (see <see cref="MailboxChanged"/>).</summary>
public class FolderCountTests
{
    /// <summary>Decides and applies as the actor does, collecting touched folders before each Apply.</summary>
    private static (HashSet<string> Touched, IMailboxReply Reply) RunCollecting(MailboxState state, IMailboxCommand command)
    {
        var touched = new HashSet<string>();
        var decision = state.Decide(command, T0);
        foreach (var e in decision.Events)
        {
            state.CollectTouchedFolders(e, touched);
            state.Apply(e);
        }
        return (touched, decision.Reply);
    }

    private static FolderCount Count(MailboxState state, string folder) =>
        state.CountOf(folder) ?? throw new Xunit.Sdk.XunitException($"no folder {folder}");

    [Fact]
    public void A_delivery_touches_its_folder()
    {
        var state = Registered();
        var work = state.Run<FolderReply>(new CreateFolder(Alice, "Work")).Folder.Id;
        var (touched, _) = RunCollecting(state, new DeliverMessage(Alice, "d1", Meta(), work));
        Assert.Equal([work], touched);
        Assert.Equal(new FolderCount(work, 1, 1), Count(state, work));
    }

    [Fact]
    public void Read_state_changes_touch_the_messages_folders_other_flags_none()
    {
        var state = Registered();
        var work = state.Run<FolderReply>(new CreateFolder(Alice, "Work")).Folder.Id;
        var a = state.Deliver();
        var b = state.Deliver(folder: work);
        state.Deliver(folder: SystemFolders.Spam);

        var (touched, _) = RunCollecting(state, new SetMessageFlags(Alice, [a, b], MessageFlags.Seen, MessageFlags.None));
        Assert.Equal([work, SystemFolders.Inbox], touched.Order(StringComparer.Ordinal)); // f1, inbox
        Assert.Equal(new FolderCount(SystemFolders.Inbox, 1, 0), Count(state, SystemFolders.Inbox));
        Assert.Equal(new FolderCount(work, 1, 0), Count(state, work));

        Assert.Empty(RunCollecting(state, new SetMessageFlags(Alice, [a], MessageFlags.Flagged, MessageFlags.None)).Touched);
        Assert.Equal([SystemFolders.Inbox], RunCollecting(state, new SetMessageFlags(Alice, [a], MessageFlags.None, MessageFlags.Seen)).Touched);
        Assert.Equal(new FolderCount(SystemFolders.Inbox, 1, 1), Count(state, SystemFolders.Inbox));
    }

    [Fact]
    public void A_move_touches_the_source_folders_and_the_target()
    {
        var state = Registered();
        var work = state.Run<FolderReply>(new CreateFolder(Alice, "Work")).Folder.Id;
        var a = state.Deliver();
        var b = state.Deliver();
        var c = state.Deliver(folder: work);
        state.Run<MessagesUpdatedReply>(new SetMessageFlags(Alice, [a], MessageFlags.Seen, MessageFlags.None));

        var (touched, _) = RunCollecting(state, new MoveMessages(Alice, [a, c], SystemFolders.Archive));
        Assert.Equal([SystemFolders.Archive, work, SystemFolders.Inbox], touched.Order(StringComparer.Ordinal));
        Assert.Equal(new FolderCount(SystemFolders.Inbox, 1, 1), Count(state, SystemFolders.Inbox));
        Assert.Equal(new FolderCount(work, 0, 0), Count(state, work));
        Assert.Equal(new FolderCount(SystemFolders.Archive, 2, 1), Count(state, SystemFolders.Archive));
        Assert.Contains(b, state.All(SystemFolders.Inbox));
    }

    [Fact]
    public void Deleting_touches_trash_and_expunging_from_trash_touches_it_again()
    {
        var state = Registered();
        var a = state.Deliver();

        Assert.Equal([SystemFolders.Inbox, SystemFolders.Trash], RunCollecting(state, new DeleteMessages(Alice, [a])).Touched.Order(StringComparer.Ordinal));
        Assert.Equal(new FolderCount(SystemFolders.Trash, 1, 1), Count(state, SystemFolders.Trash));

        Assert.Equal([SystemFolders.Trash], RunCollecting(state, new DeleteMessages(Alice, [a])).Touched);
        Assert.Equal(new FolderCount(SystemFolders.Trash, 0, 0), Count(state, SystemFolders.Trash));
    }

    [Fact]
    public void Folder_changes_report_new_folders_and_never_deleted_ones()
    {
        var state = Registered();
        var (created, reply) = RunCollecting(state, new CreateFolder(Alice, "Work"));
        var work = Assert.IsType<FolderReply>(reply).Folder.Id;
        Assert.Equal([work], created);
        Assert.Equal(new FolderCount(work, 0, 0), Count(state, work));

        Assert.Empty(RunCollecting(state, new RenameFolder(Alice, work, "Jobs")).Touched);

        state.Deliver(folder: work);
        var (deleted, _) = RunCollecting(state, new DeleteFolder(Alice, work));
        // The move to Trash touches the folder, but it is gone afterwards: CountOf says so.
        Assert.Equal([work, SystemFolders.Trash], deleted.Order(StringComparer.Ordinal));
        Assert.Null(state.CountOf(work));
        Assert.Equal(new FolderCount(SystemFolders.Trash, 1, 1), Count(state, SystemFolders.Trash));
    }

    [Fact]
    public void Account_and_session_events_touch_no_folder()
    {
        var state = new MailboxState(Alice);
        Assert.Empty(RunCollecting(state, new RegisterMailbox(Alice, "hash", "Alice", 1000)).Touched);
        Assert.Empty(RunCollecting(state, new OpenSession(Alice, "abc", T0.AddDays(1), "")).Touched);
        Assert.Empty(RunCollecting(state, new CloseSession(Alice, "abc")).Touched);
    }

    [Fact]
    public void Unknown_folders_have_no_count()
    {
        Assert.Null(Registered().CountOf("f99"));
    }
}
