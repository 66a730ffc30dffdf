using MailActors.Core;
using Xunit;
using static MailActors.Core.Tests.Fixtures;

namespace MailActors.Core.Tests;

public class SnapshotFormatTests
{
    /// <summary>
    /// A format 1 snapshot (before sessions), written by the code of that time. The mailbox:
    /// registered at T0 ("Alice", quota 1,000,000); folder "Work" (f1); deliveries d-1 "one"
    /// (100 bytes, inbox), d-2 "two" (200 bytes, Work), d-3 "three" (300 bytes, inbox); "one" read.
    /// Journals hold such snapshots, so this must load for as long as any might exist.
    /// </summary>
    private const string Format1 =
        "ARFhbGljZUBleGFtcGxlLmNvbQEEaGFzaAVBbGljZUBCDwAAAAAAgBLVMKIBAACQjA5rBAAAAAAAAAAEAAAAAAAAAJGMDmsCAAAABwVpbmJveAVJbmJveAGQjA5rAwAAAAQAAAAAAAAABHNlbnQEU2VudAGQjA5rAQAAAAAAAAAAAAAABmRyYWZ0cwZEcmFmdHMBkIwOawEAAAAAAAAAAAAAAAV0cmFzaAVUcmFzaAGQjA5rAQAAAAAAAAAAAAAABHNwYW0EU3BhbQGQjA5rAQAAAAAAAAAAAAAAB2FyY2hpdmUHQXJjaGl2ZQGQjA5rAQAAAAAAAAAAAAAAAmYxBFdvcmsAkYwOawIAAAACAAAAAAAAAAIPYm9iQGV4YW1wbGUub3JnEWFsaWNlQGV4YW1wbGUuY29tAgEBAAMBAAAAAAAAAAABAAAAAYAS1TCiAQAABAAAAAAAAACAu0A1rcOSdojNZu46CwI8cW4M6jQyEoftMfQ/163AQ2QAAAAAAAAAgBLVMKIBAAAAAAEfA29uZRI8b25lQGV4YW1wbGUub3JnPmFib3V0IG9uZQACAAAAAAAAAAYBAAAAAIAS1TCiAQAAAgAAAAAAAADicFh0/szEP2XwD/Nxn9nA09fBHNTtjWzz4oXm27B208gAAAAAAAAAgBLVMKIBAAAAAAEfA3R3bxI8dHdvQGV4YW1wbGUub3JnPmFib3V0IHR3bwADAAAAAAAAAAACAAAAAIAS1TCiAQAAAwAAAAAAAABCsj3BsJ1biwypSjaqKchWpDKSizG6Lm1fVdNUuROTqywBAAAAAAAAgBLVMKIBAAAAAAElBXRocmVlFDx0aHJlZUBleGFtcGxlLm9yZz5hYm91dCB0aHJlZQADB0GjIOYTuqyTfiZE6OlqKAEAAAAAAAAAgBLVMKIBAAAiIHz0Nl0vPwj/7mGtkYyFAgAAAAAAAACAEtUwogEAANpNpegTWaHJISw8vOWktcADAAAAAAAAAIAS1TCiAQAA";

    [Fact]
    public void A_format_1_snapshot_still_loads_with_no_sessions()
    {
        var bytes = Convert.FromBase64String(Format1);
        Assert.Equal(1, bytes[0]);

        var state = MailboxState.FromSnapshot(new MailboxSnapshot(bytes));

        Assert.Equal(Alice, state.Mailbox);
        Assert.Equal(("Alice", 1_000_000L, T0), (state.Account!.DisplayName, state.Account.QuotaBytes, state.Account.At));
        Assert.Equal((3, 600L), (state.MessageCount, state.UsedBytes));
        var inbox = state.Folder(SystemFolders.Inbox);
        Assert.Equal((2, 1, 3u), (inbox.Total, inbox.Unread, inbox.UidNext));
        var work = state.Folder("f1");
        Assert.Equal(("Work", 1, 1), (work.Name, work.Total, work.Unread));
        var subjects = state.All(SystemFolders.Inbox).Select(id => state.Run<MessageReply>(new GetMessage(Alice, id)).Message.Metadata.Subject);
        Assert.Equal(["three", "one"], subjects);
        Assert.True(Assert.IsType<MessageDeliveredReply>(state.Decide(new DeliverMessage(Alice, "d-2", Meta()), T0).Reply).Duplicate);
        Assert.Empty(state.Sessions);
        Assert.Equal(4, state.Deliver("next"));
    }

    [Fact]
    public void A_loaded_format_1_snapshot_is_saved_again_as_the_current_format_with_sessions()
    {
        var state = MailboxState.FromSnapshot(new MailboxSnapshot(Convert.FromBase64String(Format1)));
        state.Run<SessionInfo>(new OpenSession(Alice, "abc", T0.AddDays(1), "Firefox"));

        var data = state.ToSnapshot().Data;
        Assert.Equal(3, data[0]);
        var restored = MailboxState.FromSnapshot(new MailboxSnapshot(data));
        Assert.Equal(state.Sessions, restored.Sessions);
        Assert.Empty(restored.SearchSegments);
        Assert.Equal(MailboxStateTests.Render(state), MailboxStateTests.Render(restored));
    }

    [Fact]
    public void Formats_from_the_future_are_refused()
    {
        var data = Registered().ToSnapshot().Data;
        Assert.Throws<InvalidDataException>(() => MailboxState.FromSnapshot(new MailboxSnapshot([4, .. data[1..]])));
        Assert.Throws<InvalidDataException>(() => MailboxState.FromSnapshot(new MailboxSnapshot([0, .. data[1..]])));
    }

    [Fact]
    public void The_search_segment_list_survives_a_snapshot()
    {
        var state = Registered();
        IReadOnlyList<MailActors.Core.Search.SearchSegmentRef> segments =
        [
            new(BlobId.Of([1]), 1, 1000, 990, 1_234_567),
            new(BlobId.Of([2]), 1001, 1400, 400, 98_765),
        ];
        state.Apply(new SearchSegmentsChanged(segments));
        var restored = MailboxState.FromSnapshot(state.ToSnapshot());
        Assert.Equal(segments, restored.SearchSegments);
    }
}
