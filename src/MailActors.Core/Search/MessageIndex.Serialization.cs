namespace MailActors.Core.Search;

public sealed partial class MessageIndex
{
    // "MXI" + format version.
    private static ReadOnlySpan<byte> Magic => "MXI\u0001"u8;

    private const int MaxTermBytes = 1024;

    /// <summary>
    /// A compact, self-contained image: the posting buffers as they are (already varint-packed),
    /// terms sorted, plus the not-yet-compacted removed ids. Deterministic: the same index
    /// always gives the same bytes. Layout (all integers varints):
    /// <code>
    /// "MXI" 0x01 · fields(6) · all-ids list · removed count, removed ids as gaps
    /// per field: term count, then per term (ordinal order): UTF-8 length, UTF-8 bytes, list
    /// list: entry count, [byte length, bytes]   (block skip tables are rebuilt on load)
    /// </code>
    /// </summary>
    public byte[] Serialize()
    {
        var w = new ByteWriter((int)Math.Min(ApproximateBytes / 2, 1L << 30));
        w.Bytes(Magic);
        w.Varint((ulong)FieldCount);
        _all.WriteTo(w);
        w.Varint((ulong)_removed.Count);
        var previous = 0L;
        foreach (var id in _removed.Order())
        {
            w.Varint(id - previous);
            previous = id;
        }
        foreach (var field in _fields)
        {
            var terms = field.SortedTerms();
            w.Varint((ulong)terms.Count);
            foreach (var term in terms)
            {
                w.String(term);
                field.Get(term)!.WriteTo(w);
            }
        }
        return w.ToArray();
    }

    /// <summary>Loads a <see cref="Serialize"/> image; anything malformed is an <see cref="InvalidDataException"/>.</summary>
    public static MessageIndex Deserialize(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var r = new ByteReader(data);
        if (!r.Bytes(Magic.Length).SequenceEqual(Magic)) throw new InvalidDataException("Not a message index (or an unknown version).");
        if (r.Int(FieldCount) != FieldCount) throw new InvalidDataException("Unexpected field count.");

        var index = new MessageIndex();
        index._all = PostingList.ReadFrom(ref r, positional: false);
        var removed = r.Int(index._all.Count);
        var id = 0L;
        for (var i = 0; i < removed; i++)
        {
            var gap = r.Long();
            if (i > 0 && gap == 0 || gap > long.MaxValue - id) throw new InvalidDataException("Removed ids are not ascending.");
            index._removed.Add(id += gap);
        }

        index._bytes = FixedBytes;
        foreach (var field in index._fields)
        {
            var count = r.Int(data.Length);
            var terms = new List<(string, PostingList)>(count);
            for (var i = 0; i < count; i++)
            {
                var term = r.String(MaxTermBytes);
                if (term.Length == 0) throw new InvalidDataException("Empty term.");
                terms.Add((term, PostingList.ReadFrom(ref r, positional: true)));
            }
            field.Load(terms);
            index._bytes += field.ApproximateBytes();
        }
        if (!r.AtEnd) throw new InvalidDataException("Trailing bytes after the index.");
        return index;
    }
}
