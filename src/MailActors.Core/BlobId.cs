using System.Buffers.Binary;
using System.Security.Cryptography;

namespace MailActors.Core;

/// <summary>
/// SHA-256 of a raw message: the key of the content-addressed blob store. Kept as four
/// longs inline (no allocation), because every message's metadata carries one.
/// </summary>
public readonly record struct BlobId(ulong A, ulong B, ulong C, ulong D)
{
    public const int ByteLength = 32;

    public static BlobId FromHash(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != ByteLength) throw new ArgumentException("a blob id is a 32-byte SHA-256", nameof(sha256));
        return new BlobId(
            BinaryPrimitives.ReadUInt64BigEndian(sha256[..8]),
            BinaryPrimitives.ReadUInt64BigEndian(sha256[8..16]),
            BinaryPrimitives.ReadUInt64BigEndian(sha256[16..24]),
            BinaryPrimitives.ReadUInt64BigEndian(sha256[24..32]));
    }

    public static BlobId Of(ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[ByteLength];
        SHA256.HashData(content, hash);
        return FromHash(hash);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination[..8], A);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..16], B);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..24], C);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..32], D);
    }

    public static BlobId Parse(string hex) =>
        TryParse(hex, out var id) ? id : throw new FormatException("a blob id is 64 hexadecimal digits");

    public static bool TryParse(string? hex, out BlobId id)
    {
        id = default;
        if (hex is null || hex.Length != ByteLength * 2) return false;
        Span<byte> bytes = stackalloc byte[ByteLength];
        if (Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != ByteLength)
            return false;
        id = FromHash(bytes);
        return true;
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        WriteTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
