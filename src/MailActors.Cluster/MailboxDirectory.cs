using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MailActors.Cluster.Mailboxes;
using MailActors.Core;

namespace MailActors.Cluster;

/// <summary>Lists registered mailboxes. Only registered mailboxes ever write to the journal, so its persistence ids are the directory.</summary>
public static class MailboxDirectory
{
    public static async Task<IReadOnlyList<MailboxId>> ListAsync(ActorSystem system, CancellationToken ct = default)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var prefix = MailboxActor.PersistenceIdFor(MailboxId.FromNormalized("")).TrimEnd('@');
        var ids = await journal.CurrentPersistenceIds()
            .Where(id => id.StartsWith(prefix, StringComparison.Ordinal))
            .Select(id => MailboxId.FromNormalized(id[prefix.Length..]))
            .RunWith(Sink.Seq<MailboxId>(), system.Materializer());
        return ids.OrderBy(id => id.Value, StringComparer.Ordinal).ToList();
    }
}
