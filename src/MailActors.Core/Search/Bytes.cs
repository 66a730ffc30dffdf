using System.Text;

namespace MailActors.Core.Search;

/// <summary>LEB128 unsigned varints: 7 bits a byte, low bits first; ids and gaps below 128 take one byte.</summary>
internal static class Varint
{
    public const int MaxBytes = 10;

    public static int Size(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }
        return size;
    }

    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads from trusted memory (posting buffers the index wrote and validated).</summary>
    public static ulong Read(byte[] data, ref int offset)
    {
        ulong value = 0;
        var shift = 0;
        while (true)
        {
            var b = data[offset++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
            shift += 7;
        }
    }

    /// <summary>Reads from untrusted memory: bounds and length checked.</summary>
    public static ulong ReadChecked(ReadOnlySpan<byte> data, ref int offset)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (offset >= data.Length) throw new InvalidDataException("Truncated varint.");
            var b = data[offset++];
            if (shift == 63 && b > 1) throw new InvalidDataException("Varint overflows 64 bits.");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("Varint longer than 10 bytes.");
    }
}

/// <summary>Growable output for <see cref="MessageIndex.Serialize"/>.</summary>
internal sealed class ByteWriter(int capacity)
{
    private byte[] _buffer = new byte[Math.Max(16, capacity)];
    private int _length;

    public void Varint(ulong value)
    {
        Reserve(Search.Varint.MaxBytes);
        _length += Search.Varint.Write(_buffer.AsSpan(_length), value);
    }

    public void Varint(long value) => Varint(checked((ulong)value));

    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    public void String(string value)
    {
        var size = Encoding.UTF8.GetByteCount(value);
        Varint((ulong)size);
        Reserve(size);
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    private void Reserve(int size)
    {
        if (_length + size <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_length + size, _buffer.Length * 2));
    }
}

/// <summary>Input for <see cref="MessageIndex.Deserialize"/>: every read is bounds-checked; bad data is an <see cref="InvalidDataException"/>.</summary>
internal ref struct ByteReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _offset;

    public readonly bool AtEnd => _offset == _data.Length;

    public ulong Varint() => Search.Varint.ReadChecked(_data, ref _offset);

    public long Long()
    {
        var value = Varint();
        return value <= long.MaxValue ? (long)value : throw new InvalidDataException("Value out of range.");
    }

    public int Int(int max)
    {
        var value = Varint();
        return value <= (ulong)max ? (int)value : throw new InvalidDataException($"Value {value} is larger than {max}.");
    }

    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (count < 0 || count > _data.Length - _offset) throw new InvalidDataException("Truncated data.");
        var bytes = _data.Slice(_offset, count);
        _offset += count;
        return bytes;
    }

    public string String(int maxBytes)
    {
        var bytes = Bytes(Int(maxBytes));
        try
        {
            return StrictUtf8.Instance.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException("Invalid UTF-8 in a term.", e);
        }
    }
}

internal static class StrictUtf8
{
    public static readonly UTF8Encoding Instance = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
