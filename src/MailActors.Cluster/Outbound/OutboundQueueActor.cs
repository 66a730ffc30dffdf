using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using MailActors.Core.Outbound;

namespace MailActors.Cluster.Outbound;

/// <summary>Sends a queued message to its domain's mail servers (MX lookup + SMTP); never throws for remote trouble.</summary>
public interface IOutboundTransport
{
    Task<IReadOnlyList<RecipientAttempt>> DeliverAsync(string domain, OutboundMessage message, IReadOnlyList<string> recipients, CancellationToken ct);
}

/// <summary>Tells a sender that recipients failed for good (a DSN in their Inbox).</summary>
public interface IBounceSender
{
    Task SendAsync(OutboundMessage message, IReadOnlyList<RecipientAttempt> failed, CancellationToken ct);
}

public sealed record OutboundSettings
{
    public RetryPolicy Retry { get; init; } = new();

    /// <summary>Deliveries in flight to one destination domain at once (polite to remote servers).</summary>
    public int MaxConcurrentPerDomain { get; init; } = 4;

    /// <summary>
    /// Safety net for one attempt (DNS and SMTP have their own timeouts); it includes time spent
    /// waiting for the node's egress, so it is generous.
    /// </summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Failed tries to store a bounce before giving up on telling the sender (logged as an error).</summary>
    public int MaxBounceFailures { get; init; } = 60;

    public int SnapshotEvery { get; init; } = 200;

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>
/// The durable outbound queue of one destination domain: a persistent, sharded actor
/// (remembered, so it restarts with the cluster while it holds mail). An enqueue is answered
/// only once its event is in the journal; attempts run with bounded concurrency and back off
/// exponentially; permanent failures and expiry end in a bounce to the sender.
/// </summary>
public sealed class OutboundQueueActor : UntypedPersistentActor, IWithTimers
{
    private readonly string _domain;
    private readonly OutboundSettings _settings;
    private readonly IOutboundTransport _transport;
    private readonly IBounceSender _bounces;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, CancellationTokenSource> _inFlight = new(StringComparer.Ordinal);
    private readonly HashSet<string> _bouncing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _bounceFailures = new(StringComparer.Ordinal);
    private OutboundQueueState _state = new();
    private int _eventsSinceSnapshot;

    public OutboundQueueActor(string domain, OutboundSettings settings, IOutboundTransport transport, IBounceSender bounces)
    {
        _domain = domain;
        _settings = settings;
        _transport = transport;
        _bounces = bounces;
        PersistenceId = PersistenceIdFor(domain);
    }

    public static Props Props(string domain, OutboundSettings settings, IOutboundTransport transport, IBounceSender bounces) =>
        Akka.Actor.Props.Create(() => new OutboundQueueActor(domain, settings, transport, bounces));

    public const string PersistenceIdPrefix = "outbound-";
    public static string PersistenceIdFor(string domain) => PersistenceIdPrefix + domain;

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: OutboundSnapshot snapshot }:
                _state = OutboundQueueState.FromSnapshot(snapshot);
                break;
            case IOutboundEvent e:
                _state.Apply(e);
                _eventsSinceSnapshot++;
                break;
            case RecoveryCompleted:
                Context.SetReceiveTimeout(TimeSpan.FromMinutes(1));
                Work();
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case EnqueueOutbound c:
                if (_state.DecideEnqueue(c) is { } queued)
                {
                    var sender = Sender;
                    Persist(queued, e =>
                    {
                        Applied(e);
                        sender.Tell(new OutboundAccepted(c.Message.QueueId));
                        Work();
                    });
                }
                else
                {
                    Sender.Tell(new OutboundAccepted(c.Message.QueueId));
                }
                break;
            case AttemptFinished f:
                if (_inFlight.Remove(f.QueueId, out var finished)) finished.Dispose();
                if (_state.DecideAttempt(f.QueueId, f.Results, Now, _settings.Retry) is { } attempted)
                {
                    foreach (var r in attempted.Results.Where(r => r.Outcome != AttemptOutcome.Delivered))
                        _log.Info("outbound {0} to {1}: {2} ({3})", f.QueueId, r.Recipient, r.Outcome, r.Reply);
                    Persist(attempted, e => { Applied(e); Work(); });
                }
                else Work();
                break;
            case BounceFinished b:
                _bouncing.Remove(b.QueueId);
                if (b.Error is not null)
                {
                    var failures = _bounceFailures[b.QueueId] = _bounceFailures.GetValueOrDefault(b.QueueId) + 1;
                    if (failures < _settings.MaxBounceFailures)
                    {
                        // The DSN couldn't be stored: keep the obligation and try again a little later.
                        _log.Warning("bounce for {0} failed ({1}), will retry: {2}", b.QueueId, failures, b.Error.Message);
                        Timers.StartSingleTimer("bounce-retry", Tick.Instance, TimeSpan.FromMinutes(1));
                        break;
                    }
                    var untold = _state.Find(b.QueueId)?.ToBounce.Keys.ToList() ?? [];
                    _log.Error(b.Error, "bounce for {0} failed {1} times; the sender is not told about {2}", b.QueueId, failures, string.Join(", ", untold));
                    b = b with { Recipients = untold };
                }
                _bounceFailures.Remove(b.QueueId);
                Persist(new OutboundBounced(b.QueueId, b.Recipients), e => { Applied(e); Work(); });
                break;
            case RetryOutbound r:
                var due = (r.QueueId is null ? _state.Entries.Select(e => e.Message.QueueId) : [r.QueueId])
                    .Select(id => _state.DecideRetry(id, Now)).OfType<OutboundRescheduled>().ToList();
                var retrySender = Sender;
                if (due.Count == 0) retrySender.Tell(new OutboundUpdated(0));
                else PersistAll(due, e => { Applied(e); if (ReferenceEquals(e, due[^1])) { retrySender.Tell(new OutboundUpdated(due.Count)); Work(); } });
                break;
            case DeleteOutbound d:
                if (_state.Find(d.QueueId) is null) Sender.Tell(new OutboundUpdated(0));
                else
                {
                    var deleteSender = Sender;
                    Persist(new OutboundRemoved(d.QueueId), e => { Applied(e); deleteSender.Tell(new OutboundUpdated(1)); });
                }
                break;
            case ListOutbound:
                Sender.Tell(new OutboundList(_domain, _state.Entries.Select(_state.Info).ToList()));
                break;
            case Tick:
                Work();
                break;
            case ReceiveTimeout:
                // Nothing left: leave memory (and the remembered set) until the next enqueue.
                if (Idle) Context.Parent.Tell(new Passivate(Stop.Instance));
                break;
            case SaveSnapshotSuccess saved:
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure or DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                break;
            case Stop:
                // Mail may have arrived between the passivation request and now: ask the region
                // to start this queue again right after it stops, so it stays remembered.
                if (!Idle) ClusterSharding.Get(Context.System).ShardRegion(MailActorsOptions.OutboundTypeName).Tell(new ShardRegion.StartEntity(_domain));
                Context.Stop(Self);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Applied(IOutboundEvent e)
    {
        _state.Apply(e);
        if (++_eventsSinceSnapshot < _settings.SnapshotEvery) return;
        SaveSnapshot(_state.ToSnapshot());
        _eventsSinceSnapshot = 0;
    }

    /// <summary>Starts due attempts and owed bounces, then sleeps until the next due time (or passivates when empty).</summary>
    private void Work()
    {
        var now = Now;
        foreach (var entry in _state.Due(now).OrderBy(e => e.NextAttemptAt).ToList())
        {
            if (_inFlight.Count >= _settings.MaxConcurrentPerDomain) break;
            if (_inFlight.ContainsKey(entry.Message.QueueId)) continue;
            var queueId = entry.Message.QueueId;
            var recipients = entry.Pending.ToList();
            var timeout = new CancellationTokenSource(_settings.AttemptTimeout);
            _inFlight[queueId] = timeout;
            var attempt = _transport.DeliverAsync(_domain, entry.Message, recipients, timeout.Token);
            attempt.PipeTo(Self,
                success: results => new AttemptFinished(queueId, results),
                failure: error => new AttemptFinished(queueId,
                    recipients.Select(r => new RecipientAttempt(r, AttemptOutcome.TemporaryFailure, "delivery attempt failed: " + error.GetBaseException().Message)).ToList()));
        }
        foreach (var entry in _state.AwaitingBounce.ToList())
        {
            if (!_bouncing.Add(entry.Message.QueueId)) continue;
            var failed = entry.ToBounce.Values.ToList();
            var queueId = entry.Message.QueueId;
            _bounces.SendAsync(entry.Message, failed, CancellationToken.None).PipeTo(Self,
                success: () => new BounceFinished(queueId, failed.Select(f => f.Recipient).ToList(), null),
                failure: error => new BounceFinished(queueId, [], error));
        }

        // Entries being attempted right now wake the actor when they finish, not by timer.
        var next = _state.Entries.Where(e => e.Pending.Count > 0 && !_inFlight.ContainsKey(e.Message.QueueId))
            .Select(e => (DateTimeOffset?)e.NextAttemptAt).Min();
        // At the concurrency limit the next AttemptFinished calls Work again: no timer needed.
        if (next is not null && _inFlight.Count < _settings.MaxConcurrentPerDomain)
        {
            var delay = next.Value - Now;
            Timers.StartSingleTimer("tick", Tick.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.FromMilliseconds(100));
        }
    }

    protected override void PostStop()
    {
        // A hand-off or shutdown: the next incarnation retries these; don't let them race it.
        foreach (var attempt in _inFlight.Values) attempt.Cancel();
        base.PostStop();
    }

    private bool Idle => _state.Count == 0 && _inFlight.Count == 0 && _bouncing.Count == 0;

    private sealed record AttemptFinished(string QueueId, IReadOnlyList<RecipientAttempt> Results);

    private sealed record BounceFinished(string QueueId, IReadOnlyList<string> Recipients, Exception? Error);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    /// <summary>Local stop message for passivation and hand-off (never serialized).</summary>
    public sealed class Stop
    {
        public static readonly Stop Instance = new();
        private Stop() { }
    }
}
