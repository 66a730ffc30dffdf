using Akka.Cluster.Sharding;
using MailActors.Core;

namespace MailActors.Cluster.Mailboxes;

/// <summary>Routes every mailbox command to its entity: the normalized address is the entity id.</summary>
public sealed class MailboxMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => (message as IWithMailboxId)?.Mailbox.Value;
}
