using System.Buffers.Binary;
using System.Buffers.Text;

namespace MailActors.Core;

/// <summary>
/// The opaque keyset cursor of a folder listing: the id of the last message returned. Ids
/// only grow, so mail arriving between two pages lands before the cursor and never shifts it.
/// </summary>
public static class MessageCursor
{
    private const byte Version = 1;

    public static string Encode(long lastMessageId)
    {
        Span<byte> bytes = stackalloc byte[9];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], lastMessageId);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(string? cursor, out long lastMessageId)
    {
        lastMessageId = 0;
        if (string.IsNullOrEmpty(cursor) || cursor.Length > 16) return false;
        Span<byte> bytes = stackalloc byte[12];
        // The status API never throws: a forged cursor is just invalid.
        if (Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 9 || bytes[0] != Version)
            return false;
        lastMessageId = BinaryPrimitives.ReadInt64BigEndian(bytes[1..9]);
        return lastMessageId > 0;
    }
}
