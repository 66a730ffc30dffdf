namespace MailActors.Core;

public sealed record FolderSnapshot(string Id, string Name, bool IsSystem, uint UidValidity, uint UidNext, ulong HighestModSeq);

public sealed record DeliveryRecord(UInt128 Hash, long MessageId, long AtMs);

/// <summary>A mailbox's full state at one journal position, written by the binary snapshot codec.</summary>
public sealed record MailboxSnapshot(
    MailboxId Mailbox,
    AccountRegistered? Account,
    long NextMessageId,
    ulong ModSeq,
    uint LastUidValidity,
    int NextFolderNumber,
    IReadOnlyList<FolderSnapshot> Folders,
    IReadOnlyList<MessageSummary> Messages,
    IReadOnlyList<DeliveryRecord> Deliveries) : IMailProtocol;
