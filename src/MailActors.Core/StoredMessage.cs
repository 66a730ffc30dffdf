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
    /// <summary>Subject, Message-ID and snippet packed into one UTF-8 array (see <see cref="PackedText"/>).</summary>
    public required byte[] Text;
    public required AttachmentInfo[] Attachments;

    public bool IsRead => (Flags & MessageFlags.Seen) != 0;

    public MessageMetadata ToMetadata()
    {
        var (subject, messageId, snippet) = PackedText.Unpack(Text);
        return new MessageMetadata(
            Blob,
            Size,
            From,
            To,
            Cc,
            subject,
            DateMs == long.MinValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(DateMs),
            messageId,
            snippet,
            Attachments);
    }

    public MessageSummary ToSummary() => new(
        Id, Folder.Id, Uid, DateTimeOffset.FromUnixTimeMilliseconds(ReceivedAtMs), Flags, ModSeq, ToMetadata());
}

/// <summary>
/// Three strings in one array, saving two array headers and references per message:
/// [7-bit length][subject][7-bit length+1, 0 = none][Message-ID][snippet to the end].
/// </summary>
internal static class PackedText
{
    public static byte[] Pack(string subject, string? messageId, string snippet)
    {
        var subjectBytes = Encoding.UTF8.GetByteCount(subject);
        var idBytes = messageId is null ? 0 : Encoding.UTF8.GetByteCount(messageId);
        var snippetBytes = Encoding.UTF8.GetByteCount(snippet);
        var buffer = new byte[VarIntSize(subjectBytes) + subjectBytes + VarIntSize(messageId is null ? 0 : idBytes + 1) + idBytes + snippetBytes];
        var at = WriteVarInt(buffer, 0, subjectBytes);
        at += Encoding.UTF8.GetBytes(subject, buffer.AsSpan(at));
        at = WriteVarInt(buffer, at, messageId is null ? 0 : idBytes + 1);
        if (messageId is not null) at += Encoding.UTF8.GetBytes(messageId, buffer.AsSpan(at));
        Encoding.UTF8.GetBytes(snippet, buffer.AsSpan(at));
        return buffer;
    }

    public static (string Subject, string? MessageId, string Snippet) Unpack(byte[] text)
    {
        var at = ReadVarInt(text, 0, out var subjectBytes);
        var subject = Encoding.UTF8.GetString(text, at, subjectBytes);
        at = ReadVarInt(text, at + subjectBytes, out var idField);
        string? messageId = null;
        if (idField > 0)
        {
            messageId = Encoding.UTF8.GetString(text, at, idField - 1);
            at += idField - 1;
        }
        return (subject, messageId, Encoding.UTF8.GetString(text, at, text.Length - at));
    }

    private static int VarIntSize(int value)
    {
        var size = 1;
        while ((value >>= 7) != 0) size++;
        return size;
    }

    private static int WriteVarInt(byte[] buffer, int at, int value)
    {
        var v = (uint)value;
        while (v >= 0x80)
        {
            buffer[at++] = (byte)(v | 0x80);
            v >>= 7;
        }
        buffer[at++] = (byte)v;
        return at;
    }

    private static int ReadVarInt(byte[] buffer, int at, out int value)
    {
        var result = 0;
        var shift = 0;
        byte b;
        do
        {
            b = buffer[at++];
            result |= (b & 0x7F) << shift;
            shift += 7;
        } while ((b & 0x80) != 0);
        value = result;
        return at;
    }
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
