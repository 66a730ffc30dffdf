using System.Diagnostics;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using MailActors.Core;
using MailActors.Gateway.Auth;

namespace MailActors.Gateway.Realtime;

/// <summary>The mailbox already has as many realtime connections on this node as allowed.</summary>
public sealed class TooManyConnectionsException(int limit) : Exception($"at most {limit} realtime connections per mailbox");

/// <summary>A realtime client fell too far behind; it reconnects and resumes from its cursor.</summary>
public sealed class SubscriberOverflowException() : Exception("the client fell too far behind");

/// <summary>A live feed of one mailbox's <see cref="MailboxChanged"/> notifications; dispose to stop.</summary>
public sealed class MailboxSubscription(ChannelReader<MailboxChanged> reader, long settledAt, Action unsubscribe) : IDisposable
{
    public ChannelReader<MailboxChanged> Reader { get; } = reader;

    /// <summary>
    /// How long until every node surely knows about this subscription (DistributedPubSub spreads
    /// subscriptions by gossip). A change published on another node before then may not arrive
    /// here, so a reader checks the journal once more when this has passed; zero when the
    /// node's subscription for this mailbox is older than that.
    /// </summary>
    public TimeSpan UntilSettled => Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), settledAt) is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    public void Dispose() => unsubscribe();
}

/// <summary>
/// This node's end of the realtime fan-out: one DistributedPubSub subscription per mailbox that
/// has at least one connected client here, shared by all of that user's connections, so a
/// delivery on any node reaches every socket. Also hears session revocations from other nodes.
/// </summary>
public sealed class EventHub
{
    public const string RevocationTopic = "sessions-revoked";

    /// <summary>Three of DistributedPubSub's default 1 s gossip rounds.</summary>
    public static readonly TimeSpan Propagation = TimeSpan.FromSeconds(3);
    private readonly IActorRef _actor;
    private readonly int _capacity;
    private readonly int _perMailbox;

    public EventHub(ActorSystem system, SessionAuthenticator sessions, GatewayOptions options)
    {
        _capacity = options.MaxPendingPushes;
        _perMailbox = options.MaxRealtimeConnectionsPerMailbox;
        var mediator = DistributedPubSub.Get(system).Mediator;
        var perMailbox = _perMailbox;
        _actor = system.ActorOf(Props.Create(() => new EventHubActor(mediator, sessions, perMailbox)), "gateway-event-hub");
    }

    /// <summary>Completes once the cluster-wide subscription is in place, so nothing published afterwards is missed.</summary>
    public async Task<MailboxSubscription> SubscribeAsync(MailboxId mailbox, CancellationToken ct)
    {
        var channel = Channel.CreateBounded<MailboxChanged>(new BoundedChannelOptions(_capacity) { SingleReader = true, SingleWriter = true });
        var listener = new Listener(mailbox, channel.Writer);
        object reply;
        try
        {
            reply = await _actor.Ask(listener, TimeSpan.FromSeconds(10), ct);
        }
        catch
        {
            // The hub may have added the listener before the caller gave up: take it out again.
            _actor.Tell(new Unsubscribed(listener));
            throw;
        }
        if (reply is not Subscribed subscribed) throw new TooManyConnectionsException(_perMailbox);
        return new MailboxSubscription(channel.Reader, subscribed.SettledAt, () => _actor.Tell(new Unsubscribed(listener)));
    }

    internal sealed record Listener(MailboxId Mailbox, ChannelWriter<MailboxChanged> Writer);
    internal sealed record Unsubscribed(Listener Listener);
    /// <param name="SettledAt">Stopwatch timestamp after which the whole cluster knows the subscription.</param>
    internal sealed record Subscribed(long SettledAt);
    internal sealed record Refused;

    private sealed class EventHubActor : ReceiveActor
    {
        private readonly IActorRef _mediator;
        private readonly Dictionary<MailboxId, List<Listener>> _listeners = [];
        private readonly Dictionary<MailboxId, long> _settledAt = [];
        private readonly Dictionary<string, (MailboxId Mailbox, List<IActorRef> Waiting)> _awaitingAck = new(StringComparer.Ordinal);

        private readonly int _perMailbox;

        public EventHubActor(IActorRef mediator, SessionAuthenticator sessions, int perMailbox)
        {
            _mediator = mediator;
            _perMailbox = perMailbox;
            Receive<Listener>(Add);
            Receive<Unsubscribed>(u => Remove(u.Listener));
            Receive<SubscribeAck>(ack =>
            {
                if (!_awaitingAck.Remove(ack.Subscribe.Topic, out var pending)) return;
                var settled = new Subscribed(Stopwatch.GetTimestamp() + (long)(Propagation.TotalSeconds * Stopwatch.Frequency));
                if (_listeners.ContainsKey(pending.Mailbox)) _settledAt[pending.Mailbox] = settled.SettledAt;
                foreach (var w in pending.Waiting) w.Tell(settled);
            });
            Receive<UnsubscribeAck>(_ => { });
            Receive<MailboxChanged>(Dispatch);
            Receive<SessionClosed>(closed => sessions.Evict(closed.SessionHash));
        }

        protected override void PreStart() => _mediator.Tell(new Subscribe(RevocationTopic, Self));

        private void Add(Listener listener)
        {
            var topic = MailboxChanged.Topic(listener.Mailbox);
            if (_listeners.TryGetValue(listener.Mailbox, out var existing))
            {
                if (existing.Count >= _perMailbox)
                {
                    Sender.Tell(new Refused());
                    return;
                }
                existing.Add(listener);
                if (_awaitingAck.TryGetValue(topic, out var pending)) pending.Waiting.Add(Sender);
                else Sender.Tell(new Subscribed(_settledAt.GetValueOrDefault(listener.Mailbox)));
                return;
            }
            _listeners[listener.Mailbox] = [listener];
            // An ack may still be pending from an earlier subscription of this topic: wait with it.
            if (_awaitingAck.TryGetValue(topic, out var earlier)) earlier.Waiting.Add(Sender);
            else _awaitingAck[topic] = (listener.Mailbox, [Sender]);
            _mediator.Tell(new Subscribe(topic, Self));
        }

        private void Remove(Listener listener)
        {
            listener.Writer.TryComplete();
            if (!_listeners.TryGetValue(listener.Mailbox, out var list) || !list.Remove(listener) || list.Count > 0) return;
            _listeners.Remove(listener.Mailbox);
            _settledAt.Remove(listener.Mailbox);
            _mediator.Tell(new Unsubscribe(MailboxChanged.Topic(listener.Mailbox), Self));
        }

        private void Dispatch(MailboxChanged change)
        {
            if (!_listeners.TryGetValue(change.Mailbox, out var list)) return;
            foreach (var listener in list.ToArray())
            {
                if (listener.Writer.TryWrite(change)) continue;
                listener.Writer.TryComplete(new SubscriberOverflowException());
                Remove(listener);
            }
        }
    }
}
