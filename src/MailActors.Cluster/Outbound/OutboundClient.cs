using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MailActors.Core;
using MailActors.Core.Outbound;

namespace MailActors.Cluster.Outbound;

/// <summary>Typed access to the outbound queues: enqueue (answered once durable), list, retry, delete.</summary>
public sealed class OutboundClient(IRequiredActor<OutboundRegion> region, MailActorsOptions options)
{
    /// <summary>Queues one message per destination domain; returns when every domain's entry is in the journal.</summary>
    public async Task EnqueueAsync(string queueIdPrefix, string sender, IReadOnlyList<string> recipients, BlobId blob, long size,
        DateTimeOffset now, CancellationToken ct = default)
    {
        var expires = now + options.Outbound.Retry.GiveUpAfter;
        var byDomain = recipients.GroupBy(r => r[(r.LastIndexOf('@') + 1)..].ToLowerInvariant());
        await Task.WhenAll(byDomain.Select(group =>
        {
            var message = new OutboundMessage($"{queueIdPrefix}.{group.Key}", sender, group.ToList(), blob, size, now, expires);
            return Ask<OutboundAccepted>(new EnqueueOutbound(group.Key, message), ct);
        }));
    }

    public Task<OutboundList> ListAsync(string domain, CancellationToken ct = default) => Ask<OutboundList>(new ListOutbound(domain.ToLowerInvariant()), ct);

    public Task<OutboundUpdated> RetryAsync(string domain, string? queueId = null, CancellationToken ct = default) =>
        Ask<OutboundUpdated>(new RetryOutbound(domain.ToLowerInvariant(), queueId), ct);

    public Task<OutboundUpdated> DeleteAsync(string domain, string queueId, CancellationToken ct = default) =>
        Ask<OutboundUpdated>(new DeleteOutbound(domain.ToLowerInvariant(), queueId), ct);

    /// <summary>Every domain that has (or had) an outbound queue, from the journal.</summary>
    public static async Task<IReadOnlyList<string>> DomainsAsync(ActorSystem system, CancellationToken ct = default)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var ids = await journal.CurrentPersistenceIds()
            .Where(id => id.StartsWith(OutboundQueueActor.PersistenceIdPrefix, StringComparison.Ordinal))
            .RunAggregate(new List<string>(), (list, id) => { list.Add(id[OutboundQueueActor.PersistenceIdPrefix.Length..]); return list; }, system.Materializer())
            .WaitAsync(ct);
        return ids.Order(StringComparer.Ordinal).ToList();
    }

    private async Task<T> Ask<T>(IOutboundCommand command, CancellationToken ct)
    {
        var actor = await region.GetAsync(ct);
        try
        {
            return await actor.Ask<T>(command, options.AskTimeout, ct);
        }
        catch (AskTimeoutException e)
        {
            throw new MailboxException(MailboxErrorCode.Unavailable, $"outbound queue for {command.Domain} did not answer in time", e);
        }
    }
}
