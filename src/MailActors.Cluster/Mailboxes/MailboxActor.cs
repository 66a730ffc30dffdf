using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using MailActors.Core;
using MailActors.Core.Search;
using MailActors.Storage.Blobs;

namespace MailActors.Cluster.Mailboxes;

/// <summary>
/// One user's mailbox: a persistent, cluster-sharded actor that owns all of that user's state.
/// Writes are pipelined: events are applied to memory at once and persisted asynchronously
/// (the journal batches many mailboxes' events into one fsync); replies go out only from the
/// persist callback, and reads are deferred until earlier writes are durable, so nobody is
/// ever told about a change that could still be lost. A failed write stops the actor and the
/// next command recovers it from the journal.
/// </summary>
public sealed partial class MailboxActor : UntypedPersistentActor
{
    private readonly MailboxId _mailbox;
    private readonly MailboxSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private MailboxState _state;
    private int _eventsSinceSnapshot;
    private int _pending;
    // Null outside a cluster (plain ActorSystems in tests): then there is nobody to tell.
    private readonly IActorRef? _mediator = ((ExtendedActorSystem)Context.System).Provider is Akka.Cluster.ClusterActorRefProvider
        ? DistributedPubSub.Get(Context.System).Mediator
        : null;
    private readonly string _topic;
    private readonly HashSet<string> _touchedFolders = new(StringComparer.Ordinal);

    /// <param name="blobs">Where search index segments are written and message bodies read; without it the index lives in memory only.</param>
    public MailboxActor(MailboxId mailbox, MailboxSettings settings, IBlobStore? blobs = null)
    {
        _mailbox = mailbox;
        _settings = settings;
        _blobs = blobs;
        _search = new MailboxSearchIndex(settings.SearchFlushAt);
        _state = new MailboxState(mailbox);
        PersistenceId = PersistenceIdFor(mailbox);
        _topic = MailboxChanged.Topic(mailbox);
    }

    public static Props Props(MailboxId mailbox, MailboxSettings settings, IBlobStore? blobs = null) =>
        Akka.Actor.Props.Create(() => new MailboxActor(mailbox, settings, blobs));

    public static string PersistenceIdFor(MailboxId mailbox) => "mailbox-" + mailbox.Value;

    public override string PersistenceId { get; }

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: MailboxSnapshot snapshot }:
                _state = MailboxState.FromSnapshot(snapshot);
                break;
            case IMailboxEvent e:
                _state.Apply(e);
                _eventsSinceSnapshot++;
                break;
            case RecoveryCompleted:
                if (_state.IsRegistered)
                {
                    Context.SetReceiveTimeout(_settings.PassivateAfter);
                    RecoverSearch();
                }
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        if (HandleSearch(message)) return;
        switch (message)
        {
            case GetEventCursor when _state.IsRegistered:
                // Every event up to here (pending ones included) is durable when the reply goes.
                ReplyAfterPendingWrites(new EventCursorReply(LastSequenceNr));
                break;
            case IMailboxQuery query:
                if (!_state.IsRegistered) RejectUnknown();
                else ReplyAfterPendingWrites(_state.Query(query));
                break;
            case IMailboxCommand command:
                Handle(command);
                break;
            case SaveSnapshotSuccess saved:
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure failed:
                _log.Warning(failed.Cause, "snapshot of {0} failed; recovery replays more events until the next one", _mailbox);
                break;
            case DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                break;
            case ReceiveTimeout:
                Context.Parent.Tell(new Passivate(StopMailbox.Instance));
                break;
            case StopMailbox when !_stopping && _blobs is not null && (_search.MessagesInMemory > 0 || _writing is not null):
                // Write recent mail's index segment first, so the next start needn't re-read those bodies.
                _stopping = true;
                WriteSegments();
                break;
            case StopMailbox:
                // Let in-flight writes finish and answer before the actor goes.
                if (_pending > 0) DeferAsync(StopMailbox.Instance, _ => Context.Stop(Self));
                else Context.Stop(Self);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Handle(IMailboxCommand command)
    {
        if (!_state.IsRegistered && command is not RegisterMailbox)
        {
            RejectUnknown();
            return;
        }
        var decision = _state.Decide(command, _settings.Clock.GetUtcNow());
        if (decision.Events.Count == 0)
        {
            ReplyAfterPendingWrites(decision.Reply);
            return;
        }

        _touchedFolders.Clear();
        foreach (var e in decision.Events)
        {
            _state.CollectTouchedFolders(e, _touchedFolders);
            _state.Apply(e);
        }
        IndexDelivered(decision.Events, command);
        var change = ChangeNotification(decision.Events);
        _pending++;
        _eventsSinceSnapshot += decision.Events.Count;
        var sender = Sender;
        var last = decision.Events[^1];
        var snapshotDue = _eventsSinceSnapshot >= Math.Max(_settings.SnapshotEvery, _state.MessageCount / 50);
        if (snapshotDue)
        {
            // PersistAll (not async) runs after every earlier write and holds back new commands,
            // so at its callback memory equals the journal: a consistent point to snapshot.
            PersistAll(decision.Events, e =>
            {
                if (!ReferenceEquals(e, last)) return;
                _pending--;
                sender.Tell(decision.Reply);
                Publish(change);
                SaveSnapshot(_state.ToSnapshot());
                _eventsSinceSnapshot = 0;
            });
        }
        else
        {
            PersistAllAsync(decision.Events, e =>
            {
                if (!ReferenceEquals(e, last)) return;
                _pending--;
                sender.Tell(decision.Reply);
                Publish(change);
            });
        }
        if (command is RegisterMailbox) Context.SetReceiveTimeout(_settings.PassivateAfter);
    }

    /// <summary>What realtime subscribers learn about these events; null for events only the mailbox cares about (sessions).</summary>
    private MailboxChanged? ChangeNotification(IReadOnlyList<IMailboxEvent> events)
    {
        if (events.All(e => e is SessionOpened or SessionClosed or AccountRegistered)) return null;
        var counts = new List<FolderCount>(_touchedFolders.Count);
        foreach (var id in _touchedFolders)
            if (_state.CountOf(id) is { } count) counts.Add(count);
        // FirstSeqNr is filled in once the journal has assigned sequence numbers.
        return new MailboxChanged(_mailbox, 0, events, counts);
    }

    /// <summary>Called from the persist callback of the last event, where LastSequenceNr is that event's.</summary>
    private void Publish(MailboxChanged? change)
    {
        if (change is null || _mediator is null) return;
        _mediator.Tell(new Publish(_topic, change with { FirstSeqNr = LastSequenceNr - change.Events.Count + 1 }));
    }

    private void ReplyAfterPendingWrites(IMailboxReply reply)
    {
        if (_pending == 0)
        {
            Sender.Tell(reply);
            return;
        }
        var sender = Sender;
        DeferAsync(reply, r => sender.Tell(r));
    }

    /// <summary>A mailbox that was never registered: answer, persist nothing, and leave memory.</summary>
    private void RejectUnknown()
    {
        Sender.Tell(new MailboxError(MailboxErrorCode.NoSuchMailbox, $"no such mailbox: {_mailbox}"));
        Context.Parent.Tell(new Passivate(StopMailbox.Instance));
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // Memory already holds the rejected event; restart so state is rebuilt from the journal.
        _log.Error(cause, "journal rejected event {0} of {1}; restarting from the journal", @event.GetType().Name, _mailbox);
        throw new InvalidOperationException($"event rejected by the journal for {_mailbox}", cause);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "journal write failed for {0}; the mailbox stops and recovers on its next command", _mailbox);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}

/// <summary>Tells a mailbox to stop after passivation or shard hand-off (local only, never serialized).</summary>
public sealed class StopMailbox
{
    public static readonly StopMailbox Instance = new();
    private StopMailbox() { }
}
