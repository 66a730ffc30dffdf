namespace MailActors.Core.Search;

/// <summary>
/// The text of a message that the index keeps terms for. <see cref="Body"/> is plain text
/// (text/plain, or HTML converted to text); only its first <see cref="MessageIndex.MaxBodyChars"/>
/// characters are indexed.
/// </summary>
public sealed record IndexedMessage(
    string From,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    string Subject,
    string Body,
    IReadOnlyList<string> AttachmentNames);

/// <summary>
/// What the mailbox knows about a message at query time. The index doesn't store these, so a
/// flag change or a move shows in the next search without touching the index.
/// </summary>
public readonly record struct MessageFacts(
    string FolderId,
    bool Read,
    bool Flagged,
    bool HasAttachment,
    long Size,
    DateTimeOffset Date);
