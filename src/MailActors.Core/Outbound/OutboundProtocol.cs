namespace MailActors.Core.Outbound;

/// <summary>Routes a message to the outbound queue of its destination domain.</summary>
public interface IWithDestination
{
    string Domain { get; }
}

public interface IOutboundCommand : IMailProtocol, IWithDestination;

/// <summary>
/// A message waiting to leave for one destination domain: the envelope (sender may be "" for
/// bounces, which never bounce themselves), the recipients at that domain, and the stored blob.
/// </summary>
public sealed record OutboundMessage(
    string QueueId,
    string Sender,
    IReadOnlyList<string> Recipients,
    BlobId Blob,
    long Size,
    DateTimeOffset QueuedAt,
    DateTimeOffset ExpiresAt);

public enum AttemptOutcome : byte
{
    Delivered = 0,
    TemporaryFailure = 1,
    PermanentFailure = 2,
}

/// <param name="Reply">What the remote said (e.g. "550 5.1.1 user unknown"), or why no reply came.</param>
public sealed record RecipientAttempt(string Recipient, AttemptOutcome Outcome, string Reply);

// ---- commands -------------------------------------------------------------------------

/// <summary>Queue a message; idempotent by QueueId (a retried enqueue answers as the first one).</summary>
public sealed record EnqueueOutbound(string Domain, OutboundMessage Message) : IOutboundCommand;

/// <summary>Try now instead of waiting for the backoff: one entry, or all (null).</summary>
public sealed record RetryOutbound(string Domain, string? QueueId) : IOutboundCommand;

/// <summary>Drop an entry without delivering or bouncing it (admin).</summary>
public sealed record DeleteOutbound(string Domain, string QueueId) : IOutboundCommand;

public sealed record ListOutbound(string Domain) : IOutboundCommand;

// ---- replies --------------------------------------------------------------------------

public sealed record OutboundAccepted(string QueueId) : IMailProtocol;

public sealed record OutboundEntryInfo(
    string QueueId,
    string Sender,
    IReadOnlyList<string> Pending,
    int Attempts,
    DateTimeOffset QueuedAt,
    DateTimeOffset NextAttemptAt,
    string? LastReply);

public sealed record OutboundList(string Domain, IReadOnlyList<OutboundEntryInfo> Entries) : IMailProtocol;

public sealed record OutboundUpdated(int Count) : IMailProtocol;

// ---- events ---------------------------------------------------------------------------

public interface IOutboundEvent : IMailProtocol;

public sealed record OutboundQueued(OutboundMessage Message) : IOutboundEvent;

/// <summary>
/// One delivery attempt: every pending recipient's outcome (a recipient given up on because the
/// message expired is recorded as a permanent failure) and when to try the rest again.
/// </summary>
public sealed record OutboundAttempted(string QueueId, DateTimeOffset At, IReadOnlyList<RecipientAttempt> Results, DateTimeOffset NextAttemptAt) : IOutboundEvent;

/// <summary>The sender has been told (DSN in their Inbox) about these failed recipients.</summary>
public sealed record OutboundBounced(string QueueId, IReadOnlyList<string> Recipients) : IOutboundEvent;

public sealed record OutboundRescheduled(string QueueId, DateTimeOffset At) : IOutboundEvent;

public sealed record OutboundRemoved(string QueueId) : IOutboundEvent;
