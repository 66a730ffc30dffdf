using Akka.Actor;
using Akka.Cluster.Sharding;
using MailActors.Core.Outbound;

namespace MailActors.Cluster.Outbound;

/// <summary>Key under which the outbound queue shard region (or proxy) is registered.</summary>
public sealed class OutboundRegion;

/// <summary>One entity per destination domain (lower-cased), so a domain's mail shares its limits and backoff.</summary>
public sealed class OutboundMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => (message as IWithDestination)?.Domain.ToLowerInvariant();
}

/// <summary>The transport of a node that has no egress configured: everything waits (and eventually bounces).</summary>
public sealed class UnconfiguredOutboundTransport : IOutboundTransport
{
    public Task<IReadOnlyList<RecipientAttempt>> DeliverAsync(string domain, OutboundMessage message, IReadOnlyList<string> recipients, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<RecipientAttempt>>(recipients
            .Select(r => new RecipientAttempt(r, AttemptOutcome.TemporaryFailure, "outbound delivery is not configured on this node")).ToList());
}
