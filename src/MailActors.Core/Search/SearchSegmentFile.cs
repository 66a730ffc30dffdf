using System.Text;

namespace MailActors.Core.Search;

/// <summary>
/// The bytes of a segment in the blob store: "MXS" 0x01, the owning mailbox (length-prefixed
/// UTF-8), then the serialized <see cref="MessageIndex"/>. Naming the owner makes every
/// mailbox's segments distinct content, so the content-addressed store never shares one
/// between two mailboxes and a merged-away segment can be deleted safely; reading checks it.
/// </summary>
public static class SearchSegmentFile
{
    private static ReadOnlySpan<byte> Magic => "MXS\u0001"u8;

    public static byte[] Write(MailboxId owner, MessageIndex index)
    {
        var name = Encoding.UTF8.GetBytes(owner.Value);
        var body = index.Serialize();
        var bytes = new byte[Magic.Length + 2 + name.Length + body.Length];
        Magic.CopyTo(bytes);
        bytes[4] = (byte)(name.Length >> 8);
        bytes[5] = (byte)name.Length;
        name.CopyTo(bytes, 6);
        body.CopyTo(bytes, 6 + name.Length);
        return bytes;
    }

    /// <summary>The index in <paramref name="bytes"/>; <see cref="InvalidDataException"/> if malformed or another mailbox's.</summary>
    public static MessageIndex Read(MailboxId owner, byte[] bytes)
    {
        if (bytes.Length < 6 || !bytes.AsSpan(0, 4).SequenceEqual(Magic)) throw new InvalidDataException("Not a search segment.");
        var length = (bytes[4] << 8) | bytes[5];
        if (bytes.Length < 6 + length) throw new InvalidDataException("Truncated search segment.");
        var name = Encoding.UTF8.GetString(bytes, 6, length);
        if (name != owner.Value) throw new InvalidDataException($"The search segment belongs to {name}, not {owner}.");
        return MessageIndex.Deserialize(bytes[(6 + length)..]);
    }
}
