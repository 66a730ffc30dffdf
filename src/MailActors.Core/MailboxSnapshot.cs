namespace MailActors.Core;

/// <summary>
/// A mailbox's full state at one journal position, already encoded (see
/// <see cref="MailboxState.ToSnapshot"/>): immutable bytes, safe to hand to the snapshot
/// store's thread while the mailbox keeps changing.
/// </summary>
public sealed record MailboxSnapshot(byte[] Data) : IMailProtocol;
