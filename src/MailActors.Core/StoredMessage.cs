using System.Text;

namespace MailActors.Core;

/// <summary>
/// One message's metadata as a mailbox keeps it in memory. Compact on purpose (a mailbox of
/// 10,000 messages should stay within a few MB): text as UTF-8, addresses interned per
/// mailbox, the blob id inline. Converted to <see cref="MessageMetadata"/> only for replies.
/// </summary>
internal sealed class StoredMessage
{
    public required long Id;
    public required Folder Folder;
    public required uint Uid;
    public required MessageFlags Flags;
    public required long ReceivedAtMs;
    public required ulong ModSeq;
    public required BlobId Blob;
    public required long Size;
    public required long DateMs; // long.MinValue = no Date header
    public required string From;
    public required string[] To;
    public required string[] Cc;
    public required byte[] Subject;
    public required byte[] Snippet;
    public required byte[]? MessageIdHeader;
    public required AttachmentInfo[] Attachments;

    public bool IsRead => (Flags & MessageFlags.Seen) != 0;

    public MessageMetadata ToMetadata() => new(
        Blob,
        Size,
        From,
        To,
        Cc,
        Encoding.UTF8.GetString(Subject),
        DateMs == long.MinValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(DateMs),
        MessageIdHeader is null ? null : Encoding.UTF8.GetString(MessageIdHeader),
        Encoding.UTF8.GetString(Snippet),
        Attachments);

    public MessageSummary ToSummary() => new(
        Id, Folder.Id, Uid, DateTimeOffset.FromUnixTimeMilliseconds(ReceivedAtMs), Flags, ModSeq, ToMetadata());
}

internal sealed class Folder(string id, string name, bool isSystem, uint uidValidity)
{
    public string Id { get; } = id;
    public string Name { get; set; } = name;
    public bool IsSystem { get; } = isSystem;
    public uint UidValidity { get; } = uidValidity;
    public uint UidNext { get; set; } = 1;
    public ulong HighestModSeq { get; set; }

    /// <summary>Read and unread ids kept apart so every status filter pages in O(page).</summary>
    public SortedIdList Read { get; } = new();
    public SortedIdList Unread { get; } = new();

    public int Total => Read.Count + Unread.Count;

    public void Add(StoredMessage m) => (m.IsRead ? Read : Unread).Add(m.Id);
    public void Remove(StoredMessage m) => (m.IsRead ? Read : Unread).Remove(m.Id);

    public FolderInfo ToInfo() => new(Id, Name, IsSystem, Total, Unread.Count, UidValidity, UidNext, HighestModSeq);
}
