namespace MailActors.Core;

/// <summary>Marker for everything the mail serializer writes: commands, events, replies, snapshots.</summary>
public interface IMailProtocol;

/// <summary>Routes a message to its mailbox entity.</summary>
public interface IWithMailboxId
{
    MailboxId Mailbox { get; }
}

public interface IMailboxCommand : IMailProtocol, IWithMailboxId;

/// <summary>A command that only reads; the mailbox answers it from memory.</summary>
public interface IMailboxQuery : IMailboxCommand;

public interface IMailboxEvent : IMailProtocol;

public interface IMailboxReply : IMailProtocol;

// ---- commands -------------------------------------------------------------------------

public sealed record RegisterMailbox(MailboxId Mailbox, string PasswordHash, string DisplayName, long QuotaBytes) : IMailboxCommand;

/// <summary>
/// Deliver one message. <paramref name="DeliveryId"/> makes it idempotent: a retry with the
/// same id (after a timeout, say) answers with the first delivery's message id.
/// <paramref name="BodyText"/> is the body as plain text for the search index (see
/// <c>MessageParser.BodyText</c>); it is not persisted. Edges that parsed the message pass it
/// so the message is searchable when the delivery is acknowledged; null makes the mailbox read
/// the body from the blob store itself, after the reply.
/// </summary>
public sealed record DeliverMessage(
    MailboxId Mailbox,
    string DeliveryId,
    MessageMetadata Metadata,
    string? FolderId = null,
    MessageFlags Flags = MessageFlags.None,
    string? BodyText = null) : IMailboxCommand
{
    public const int MaxDeliveryIdLength = 200;
}

public sealed record CreateFolder(MailboxId Mailbox, string Name) : IMailboxCommand;

public sealed record RenameFolder(MailboxId Mailbox, string FolderId, string NewName) : IMailboxCommand;

/// <summary>Deletes a user folder and its sub-folders; their mail moves to Trash.</summary>
public sealed record DeleteFolder(MailboxId Mailbox, string FolderId) : IMailboxCommand;

public sealed record SetMessageFlags(MailboxId Mailbox, IReadOnlyList<long> MessageIds, MessageFlags Add, MessageFlags Remove) : IMailboxCommand;

public sealed record MoveMessages(MailboxId Mailbox, IReadOnlyList<long> MessageIds, string TargetFolderId) : IMailboxCommand;

/// <summary>Moves messages to Trash; messages already in Trash are expunged.</summary>
public sealed record DeleteMessages(MailboxId Mailbox, IReadOnlyList<long> MessageIds) : IMailboxCommand;

/// <summary>
/// Opens a sign-in session (HTTP login). Only the SHA-256 of the session secret is kept; a
/// mailbox holds at most <see cref="MaxSessions"/> sessions, and opening one more ends the oldest.
/// </summary>
public sealed record OpenSession(MailboxId Mailbox, string SessionHash, DateTimeOffset ExpiresAt, string Client) : IMailboxCommand
{
    public const int MaxSessions = 20;
    public const int MaxClientLength = 200;
}

/// <summary>Ends a session (logout). Ending an unknown or already ended session is not an error.</summary>
public sealed record CloseSession(MailboxId Mailbox, string SessionHash) : IMailboxCommand;

// ---- queries --------------------------------------------------------------------------

public sealed record GetAccount(MailboxId Mailbox) : IMailboxQuery;

public sealed record ListFolders(MailboxId Mailbox) : IMailboxQuery;

/// <summary>Newest first; <paramref name="Cursor"/> is the opaque NextCursor of the previous page.</summary>
public sealed record ListMessages(MailboxId Mailbox, string FolderId, MessageStatusFilter Status, int Limit, string? Cursor = null) : IMailboxQuery
{
    public const int MaxLimit = 200;
}

public sealed record GetMessage(MailboxId Mailbox, long MessageId) : IMailboxQuery;

/// <summary>
/// Full-text search (syntax: <see cref="Search.SearchQuery"/>), newest first, across all folders
/// or only <paramref name="FolderId"/>. Answered with a <see cref="MessagePageReply"/>, or
/// <see cref="MailboxErrorCode.Invalid"/> for a query that doesn't parse.
/// </summary>
public sealed record SearchMessages(MailboxId Mailbox, string Query, int Limit, string? Cursor = null, string? FolderId = null) : IMailboxQuery
{
    public const int MaxLimit = 200;
}

/// <summary>Size of the mailbox's search index (operations, benchmarks): answered with <see cref="SearchStatsReply"/>.</summary>
public sealed record GetSearchStats(MailboxId Mailbox) : IMailboxQuery;

/// <summary>
/// The mailbox's journal position once every earlier write is durable: where a realtime client
/// starts following <see cref="MailboxChanged"/> notifications (answered by the actor, not the state).
/// </summary>
public sealed record GetEventCursor(MailboxId Mailbox) : IMailboxQuery;

/// <summary>Answers <see cref="SessionInfo"/> for a live session, NotFound otherwise (the caller checks expiry).</summary>
public sealed record CheckSession(MailboxId Mailbox, string SessionHash) : IMailboxQuery;

// ---- replies --------------------------------------------------------------------------

public enum MailboxErrorCode : byte
{
    NoSuchMailbox = 1,
    NotFound = 2,
    AlreadyExists = 3,
    Invalid = 4,
    Forbidden = 5,
    QuotaExceeded = 6,
    Unavailable = 7,
}

public sealed record MailboxError(MailboxErrorCode Code, string Message) : IMailboxReply;

public sealed record AccountInfo(
    MailboxId Mailbox,
    string DisplayName,
    string PasswordHash,
    long QuotaBytes,
    long UsedBytes,
    int MessageCount,
    DateTimeOffset CreatedAt) : IMailboxReply;

public sealed record MessageDeliveredReply(long MessageId, string FolderId, uint Uid, bool Duplicate) : IMailboxReply;

public sealed record FolderReply(FolderInfo Folder) : IMailboxReply;

public sealed record FolderListReply(IReadOnlyList<FolderInfo> Folders) : IMailboxReply;

public sealed record MessagePageReply(IReadOnlyList<MessageSummary> Items, string? NextCursor) : IMailboxReply;

public sealed record MessageReply(MessageSummary Message) : IMailboxReply;

/// <summary>Which of the requested messages a batch command touched, and which don't exist.</summary>
public sealed record MessagesUpdatedReply(IReadOnlyList<long> Updated, IReadOnlyList<long> NotFound) : IMailboxReply;

public sealed record EventCursorReply(long SeqNr) : IMailboxReply;

/// <summary>
/// <paramref name="Messages"/> indexed, in <paramref name="Segments"/> written segments plus memory;
/// <paramref name="MemoryBytes"/> held now (segments load on the first search);
/// <paramref name="DiskBytes"/> of written segments (serialized, before blob compression);
/// <paramref name="Busy"/>: a segment write, merge or body read is in flight.
/// </summary>
public sealed record SearchStatsReply(int Messages, int Segments, long MemoryBytes, long DiskBytes, bool Busy = false) : IMailboxReply;

public sealed record SessionInfo(string SessionHash, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string Client) : IMailboxReply;

public sealed record Done : IMailboxReply
{
    public static readonly Done Instance = new();
}

// ---- events (persisted; never change a field's meaning, add new types instead) ---------

public sealed record AccountRegistered(string PasswordHash, string DisplayName, long QuotaBytes, DateTimeOffset At, uint UidValidity) : IMailboxEvent;

public sealed record MessageDelivered(
    string DeliveryId,
    long MessageId,
    string FolderId,
    uint Uid,
    DateTimeOffset ReceivedAt,
    MessageFlags Flags,
    MessageMetadata Metadata) : IMailboxEvent;

public sealed record MessageFlagsChanged(IReadOnlyList<long> MessageIds, MessageFlags Add, MessageFlags Remove) : IMailboxEvent;

/// <summary>Messages moved to a folder; they get UIDs FirstUid, FirstUid+1, … in list order.</summary>
public sealed record MessagesMoved(IReadOnlyList<long> MessageIds, string TargetFolderId, uint FirstUid) : IMailboxEvent;

public sealed record MessagesExpunged(IReadOnlyList<long> MessageIds) : IMailboxEvent;

/// <summary>
/// The search index's persisted segments are now <paramref name="Segments"/> (after a flush of
/// recent mail or a merge). Only the mailbox itself cares; it is not pushed to clients.
/// </summary>
public sealed record SearchSegmentsChanged(IReadOnlyList<Search.SearchSegmentRef> Segments) : IMailboxEvent;

public sealed record FolderCreated(string FolderId, string Name, uint UidValidity) : IMailboxEvent;

/// <summary>A folder renamed; its sub-folders' names follow.</summary>
public sealed record FolderRenamed(string FolderId, string NewName) : IMailboxEvent;

/// <summary>Folders removed (a folder and its sub-folders) after their mail moved to Trash.</summary>
public sealed record FoldersDeleted(IReadOnlyList<string> FolderIds) : IMailboxEvent;

public sealed record SessionOpened(string SessionHash, DateTimeOffset At, DateTimeOffset ExpiresAt, string Client) : IMailboxEvent;

public sealed record SessionClosed(string SessionHash) : IMailboxEvent;

// ---- notifications (published, never persisted) ----------------------------------------

/// <summary>A folder's counts after a change, so clients update badges without a query.</summary>
public sealed record FolderCount(string FolderId, int Total, int Unread);

/// <summary>
/// Published by a mailbox (DistributedPubSub topic <see cref="Topic"/>) after events are durable:
/// the events with their journal sequence numbers FirstSeqNr, FirstSeqNr+1, …, and the counts
/// of the folders they touched. Realtime edges (WebSocket, long-poll, IMAP IDLE) subscribe to it.
/// </summary>
public sealed record MailboxChanged(MailboxId Mailbox, long FirstSeqNr, IReadOnlyList<IMailboxEvent> Events, IReadOnlyList<FolderCount> Counts) : IMailProtocol
{
    public static string Topic(MailboxId mailbox) => "mailbox:" + mailbox.Value;
}
