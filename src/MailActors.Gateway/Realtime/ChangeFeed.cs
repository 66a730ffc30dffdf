using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MailActors.Cluster;
using MailActors.Cluster.Mailboxes;
using MailActors.Core;
using MailActors.Gateway.Api;

namespace MailActors.Gateway.Realtime;

/// <summary>
/// A mailbox's changes as clients see them. Live changes come from <see cref="EventHub"/>;
/// anything a client missed (it was offline, or a notification was lost between nodes) is read
/// back from the mailbox's journal by sequence number, which is the client's cursor.
/// </summary>
public sealed class ChangeFeed(ActorSystem system, MailboxClient mailboxes)
{
    public const int MaxBatch = 500;
    private readonly SqlReadJournal _journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
    private readonly IMaterializer _materializer = system.Materializer();

    /// <summary>Where a new client starts: everything up to here is already visible through the API.</summary>
    public async Task<long> CurrentCursorAsync(MailboxId mailbox, CancellationToken ct) =>
        (await mailboxes.SendExpectingAsync<EventCursorReply>(new GetEventCursor(mailbox), ct)).SeqNr;

    /// <summary>Durable events after <paramref name="after"/> (at most <see cref="MaxBatch"/>), as client events, and the new cursor.</summary>
    public async Task<(long Cursor, List<ClientEvent> Events)> ReadAsync(MailboxId mailbox, long after, CancellationToken ct)
    {
        var envelopes = await _journal
            .CurrentEventsByPersistenceId(MailboxActor.PersistenceIdFor(mailbox), after + 1, after + MaxBatch)
            .RunWith(Sink.Seq<EventEnvelope>(), _materializer)
            .WaitAsync(ct);
        var events = new List<ClientEvent>();
        var cursor = after;
        foreach (var envelope in envelopes)
        {
            if (envelope.Event is IMailboxEvent e) Convert(envelope.SequenceNr, e, events);
            cursor = Math.Max(cursor, envelope.SequenceNr);
        }
        return (cursor, events);
    }

    /// <summary>Folder counts now, appended after a replay (live notifications carry their own).</summary>
    public async Task<ClientEvent> CountsAsync(MailboxId mailbox, long seq, CancellationToken ct)
    {
        var folders = await mailboxes.ListFoldersAsync(mailbox.Value, ct);
        return new ClientEvent("folder.counts", seq, Counts: folders.Select(f => new FolderCountDto(f.Id, f.Total, f.Unread)).ToList());
    }

    /// <summary>The events of a live notification that come after <paramref name="after"/>, plus its folder counts.</summary>
    public static List<ClientEvent> FromChange(MailboxChanged change, long after)
    {
        var events = new List<ClientEvent>();
        for (var i = 0; i < change.Events.Count; i++)
        {
            var seq = change.FirstSeqNr + i;
            if (seq > after) Convert(seq, change.Events[i], events);
        }
        if (events.Count > 0 && change.Counts.Count > 0)
            events.Add(new ClientEvent("folder.counts", LastSeq(change), Counts: change.Counts.Select(c => new FolderCountDto(c.FolderId, c.Total, c.Unread)).ToList()));
        return events;
    }

    public static long LastSeq(MailboxChanged change) => change.FirstSeqNr + change.Events.Count - 1;

    public static void Convert(long seq, IMailboxEvent e, List<ClientEvent> into)
    {
        switch (e)
        {
            case MessageDelivered d:
                into.Add(new ClientEvent("message.new", seq, Message: MessageSummaryDto.Of(d.MessageId, d.FolderId, d.ReceivedAt, d.Flags, d.Metadata)));
                break;
            case MessageFlagsChanged f:
                into.Add(new ClientEvent("message.flags", seq, Ids: f.MessageIds, Add: FlagNames(f.Add), Remove: FlagNames(f.Remove)));
                break;
            case MessagesMoved m:
                into.Add(new ClientEvent("message.moved", seq, Ids: m.MessageIds, FolderId: m.TargetFolderId));
                break;
            case MessagesExpunged x:
                into.Add(new ClientEvent("message.deleted", seq, Ids: x.MessageIds));
                break;
            case FolderCreated c:
                into.Add(new ClientEvent("folder.created", seq, Folder: new FolderDto(c.FolderId, c.Name, false, 0, 0)));
                break;
            case FolderRenamed r:
                into.Add(new ClientEvent("folder.renamed", seq, FolderId: r.FolderId, Folder: new FolderDto(r.FolderId, r.NewName, false, 0, 0)));
                break;
            case FoldersDeleted d:
                into.Add(new ClientEvent("folder.deleted", seq, FolderIds: d.FolderIds));
                break;
            // Account and session events are not the client's business (a session hash stays on the server).
        }
    }

    private static List<string> FlagNames(MessageFlags flags)
    {
        var names = new List<string>(2);
        if ((flags & MessageFlags.Seen) != 0) names.Add("read");
        if ((flags & MessageFlags.Flagged) != 0) names.Add("flagged");
        if ((flags & MessageFlags.Answered) != 0) names.Add("answered");
        if ((flags & MessageFlags.Draft) != 0) names.Add("draft");
        if ((flags & MessageFlags.Deleted) != 0) names.Add("deleted");
        return names;
    }
}
