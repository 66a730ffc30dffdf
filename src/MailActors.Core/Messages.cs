namespace MailActors.Core;

/// <summary>Per-message flags; the IMAP system flags map one to one.</summary>
[Flags]
public enum MessageFlags : byte
{
    None = 0,
    Seen = 1,
    Flagged = 2,
    Answered = 4,
    Draft = 8,
    Deleted = 16,
}

public sealed record AttachmentInfo(string FileName, string ContentType, long Size);

/// <summary>
/// What the edge that accepted a message (SMTP, HTTP, IMAP APPEND) extracted from it with
/// MimeKit. The raw message itself lives in the blob store under <see cref="Blob"/>; the
/// mailbox keeps only this.
/// </summary>
public sealed record MessageMetadata(
    BlobId Blob,
    long Size,
    string From,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    string Subject,
    DateTimeOffset? Date,
    string? MessageIdHeader,
    string Snippet,
    IReadOnlyList<AttachmentInfo> Attachments)
{
    public const int MaxSnippetLength = 160;
}

/// <summary>A message as a mailbox reports it: metadata plus where it is and its state.</summary>
public sealed record MessageSummary(
    long Id,
    string FolderId,
    uint Uid,
    DateTimeOffset ReceivedAt,
    MessageFlags Flags,
    ulong ModSeq,
    MessageMetadata Metadata)
{
    public bool IsRead => (Flags & MessageFlags.Seen) != 0;
    public bool IsFlagged => (Flags & MessageFlags.Flagged) != 0;
}

public enum MessageStatusFilter : byte
{
    All = 0,
    Read = 1,
    Unread = 2,
}
