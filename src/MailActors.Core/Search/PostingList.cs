namespace MailActors.Core.Search;

/// <summary>
/// The message ids containing one term in one field, ascending, packed as varints in one byte
/// buffer. Entries come in blocks of <see cref="BlockSize"/>: a block's first id is written in
/// full, the rest as gaps from the previous id, so each block decodes on its own and a search
/// walking newest-first (or skipping ahead) decodes only the blocks it lands in.
/// <para>
/// Entry: <c>varint id-or-gap</c>, then for positional lists <c>varint count</c> and the word
/// positions as gaps (first one absolute). In a typical body most gaps fit one byte: a term that
/// occurs once in a message costs ~3 bytes there (gap, count, position).
/// </para>
/// <para>
/// The last block is the mutable tail: new (larger) ids append to it; every earlier block is
/// never rewritten except by <see cref="RemoveIds"/> (compaction) or an out-of-order insert,
/// both of which re-encode the list. The skip table (first id and offset per block after the
/// first) exists only once a list has a second block, so the many rare terms pay nothing for it.
/// </para>
/// </summary>
internal sealed class PostingList(bool positional)
{
    public const int BlockSize = 128;

    // Object header + fields, the two arrays' headers: for memory accounting.
    private const int ObjectBytes = 72;
    private const int ArrayHeaderBytes = 24;

    private byte[] _data = [];
    private int _length;
    private int _count;
    private long _first;
    private long _last = -1;
    private long[]? _blockFirst; // [b - 1] = first id of block b, for b >= 1
    private int[]? _blockOffset; // [b - 1] = offset of block b

    public bool Positional { get; } = positional;
    public int Count => _count;
    public long LastId => _last;
    public int BlockCount => _count == 0 ? 0 : (_count - 1) / BlockSize + 1;

    public long ApproximateBytes =>
        ObjectBytes + ArrayHeaderBytes + _data.Length
        + (_blockFirst is null ? 0 : 2 * ArrayHeaderBytes + 12L * _blockFirst.Length);

    /// <summary>Adds a message; ids normally arrive ascending (append), any other order re-encodes the list.</summary>
    public void Add(long id, ReadOnlySpan<int> positions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        if (_count > 0 && id <= _last)
        {
            InsertOutOfOrder(id, positions.ToArray());
            return;
        }
        Append(id, positions);
    }

    private void Append(long id, ReadOnlySpan<int> positions)
    {
        var startsBlock = _count % BlockSize == 0;
        var head = startsBlock ? (ulong)id : (ulong)(id - _last);
        var size = Varint.Size(head);
        if (Positional)
        {
            size += Varint.Size((ulong)positions.Length);
            var previous = 0;
            foreach (var p in positions)
            {
                size += Varint.Size((ulong)(p - previous));
                previous = p;
            }
        }
        Reserve(size);

        if (startsBlock && _count > 0) AddBlock(_count / BlockSize, id, _length);
        if (_count == 0) _first = id;
        _length += Varint.Write(_data.AsSpan(_length), head);
        if (Positional)
        {
            _length += Varint.Write(_data.AsSpan(_length), (ulong)positions.Length);
            var previous = 0;
            foreach (var p in positions)
            {
                _length += Varint.Write(_data.AsSpan(_length), (ulong)(p - previous));
                previous = p;
            }
        }
        _last = id;
        _count++;
    }

    public bool Contains(long id)
    {
        var block = FindBlock(id);
        if (block < 0) return false;
        var offset = BlockOffset(block);
        var end = BlockEnd(block);
        var current = 0L;
        for (var i = 0; offset < end; i++)
        {
            var v = (long)Varint.Read(_data, ref offset);
            current = i == 0 ? v : current + v;
            if (current >= id) return current == id;
            if (Positional) SkipPositions(ref offset);
        }
        return false;
    }

    /// <summary>Drops the given ids (compaction); returns how many entries remain.</summary>
    public int RemoveIds(IReadOnlySet<long> ids)
    {
        if (_count == 0) return 0;
        var entries = Entries().Where(e => !ids.Contains(e.Id)).ToList();
        if (entries.Count != _count) Rebuild(entries);
        else TrimExcess();
        return _count;
    }

    /// <summary>Shrinks the buffers to their content (after compaction or loading).</summary>
    public void TrimExcess()
    {
        if (_data.Length != _length) Array.Resize(ref _data, _length);
        var extraBlocks = BlockCount - 1;
        if (_blockFirst is not null && _blockFirst.Length != extraBlocks)
        {
            Array.Resize(ref _blockFirst, extraBlocks);
            Array.Resize(ref _blockOffset, extraBlocks);
        }
    }

    /// <summary>
    /// Appends the entries of <paramref name="source"/> that <paramref name="keep"/> accepts
    /// (a segment merge), decoding a block at a time into reused buffers.
    /// </summary>
    public void AppendFrom(PostingList source, Func<long, bool> keep, ref long[] ids, ref int[] starts, ref int[] positions)
    {
        for (var block = 0; block < source.BlockCount; block++)
        {
            var n = source.DecodeBlock(block, ref ids, ref starts, ref positions);
            for (var i = 0; i < n; i++)
            {
                if (!keep(ids[i])) continue;
                var entry = positions.AsSpan(starts[i], starts[i + 1] - starts[i]);
                if (_count > 0 && ids[i] <= _last) Add(ids[i], entry); // overlapping parts: still correct, just slower
                else Append(ids[i], entry);
            }
        }
    }

    /// <summary>All entries, oldest first (compaction, re-encoding, tests).</summary>
    public IEnumerable<(long Id, int[] Positions)> Entries()
    {
        var offset = 0;
        var id = 0L;
        for (var i = 0; i < _count; i++)
        {
            var v = (long)Varint.Read(_data, ref offset);
            id = i % BlockSize == 0 ? v : id + v;
            int[] positions = [];
            if (Positional)
            {
                positions = new int[(int)Varint.Read(_data, ref offset)];
                var p = 0;
                for (var k = 0; k < positions.Length; k++) positions[k] = p += (int)Varint.Read(_data, ref offset);
            }
            yield return (id, positions);
        }
    }

    /// <summary>Index of the last block whose first id is ≤ <paramref name="target"/>, or -1.</summary>
    public int FindBlock(long target)
    {
        if (_count == 0 || target < _first) return -1;
        if (_blockFirst is null) return 0;
        var index = Array.BinarySearch(_blockFirst, 0, BlockCount - 1, target);
        return index >= 0 ? index + 1 : ~index;
    }

    public long BlockFirstId(int block) => block == 0 ? _first : _blockFirst![block - 1];

    /// <summary>
    /// Decodes one block: ids ascending into <paramref name="ids"/>, the positions of entry i at
    /// <c>positions[starts[i]..starts[i + 1]]</c>. Buffers grow as needed; returns the entry count.
    /// </summary>
    public int DecodeBlock(int block, ref long[] ids, ref int[] starts, ref int[] positions)
    {
        var n = block == BlockCount - 1 ? _count - block * BlockSize : BlockSize;
        if (ids.Length < n) ids = new long[n];
        if (starts.Length < n + 1) starts = new int[n + 1];
        var offset = BlockOffset(block);
        var id = 0L;
        var stored = 0;
        for (var i = 0; i < n; i++)
        {
            var v = (long)Varint.Read(_data, ref offset);
            ids[i] = id = i == 0 ? v : id + v;
            starts[i] = stored;
            if (!Positional) continue;
            var count = (int)Varint.Read(_data, ref offset);
            if (positions.Length < stored + count) Array.Resize(ref positions, Math.Max(stored + count, positions.Length * 2));
            var p = 0;
            for (var k = 0; k < count; k++) positions[stored++] = p += (int)Varint.Read(_data, ref offset);
        }
        starts[n] = stored;
        return n;
    }

    public void WriteTo(ByteWriter w)
    {
        w.Varint((ulong)_count);
        if (_count == 0) return;
        w.Varint((ulong)_length);
        w.Bytes(_data.AsSpan(0, _length));
        // The skip table is rebuilt on load from the block heads; nothing else is stored.
    }

    /// <summary>Reads a list written by <see cref="WriteTo"/>, checking every entry (ascending ids, positions, lengths).</summary>
    public static PostingList ReadFrom(ref ByteReader r, bool positional)
    {
        var list = new PostingList(positional);
        var count = r.Int(int.MaxValue);
        if (count == 0) return list;
        var data = r.Bytes(r.Int(int.MaxValue));
        var offset = 0;
        var id = -1L;
        for (var i = 0; i < count; i++)
        {
            var entryStart = offset;
            var v = Varint.ReadChecked(data, ref offset);
            var next = i % BlockSize == 0 ? v : (ulong)id + v;
            if (next > long.MaxValue || (long)next <= id)
                throw new InvalidDataException("Posting ids are not ascending.");
            id = (long)next;
            if (i == 0) list._first = id;
            else if (i % BlockSize == 0) list.AddBlock(i / BlockSize, id, entryStart);
            if (!positional) continue;
            var positions = Varint.ReadChecked(data, ref offset);
            if (positions > (ulong)(data.Length - offset)) throw new InvalidDataException("Position count out of range.");
            var p = 0UL;
            for (var k = 0UL; k < positions; k++)
            {
                var gap = Varint.ReadChecked(data, ref offset);
                if (k > 0 && gap == 0) throw new InvalidDataException("Positions are not ascending.");
                p += gap;
                if (p > int.MaxValue) throw new InvalidDataException("Position out of range.");
            }
        }
        if (offset != data.Length) throw new InvalidDataException("Posting list has trailing bytes.");
        list._data = data.ToArray();
        list._length = data.Length;
        list._count = count;
        list._last = id;
        list.TrimExcess();
        return list;
    }

    private int BlockOffset(int block) => block == 0 ? 0 : _blockOffset![block - 1];

    private int BlockEnd(int block) => block == BlockCount - 1 ? _length : _blockOffset![block];

    private void AddBlock(int block, long firstId, int offset)
    {
        var index = block - 1;
        if (_blockFirst is null || index >= _blockFirst.Length)
        {
            var size = Math.Max(4, (_blockFirst?.Length ?? 0) * 2);
            Array.Resize(ref _blockFirst, size);
            Array.Resize(ref _blockOffset, size);
        }
        _blockFirst[index] = firstId;
        _blockOffset![index] = offset;
    }

    private void SkipPositions(ref int offset)
    {
        var count = (int)Varint.Read(_data, ref offset);
        for (var k = 0; k < count; k++) Varint.Read(_data, ref offset);
    }

    private void Reserve(int size)
    {
        if (_length + size <= _data.Length) return;
        // Exact for the first entry (most terms stay at one or two), then 1.5x.
        var capacity = _data.Length == 0 ? size : Math.Max(_length + size, _data.Length + _data.Length / 2);
        Array.Resize(ref _data, capacity);
    }

    private void InsertOutOfOrder(long id, int[] positions)
    {
        var entries = Entries().Where(e => e.Id != id).Append((Id: id, Positions: positions)).OrderBy(e => e.Id).ToList();
        Rebuild(entries);
    }

    private void Rebuild(List<(long Id, int[] Positions)> entries)
    {
        _data = [];
        _length = _count = 0;
        _first = 0;
        _last = -1;
        _blockFirst = null;
        _blockOffset = null;
        foreach (var (id, positions) in entries) Append(id, positions);
        TrimExcess();
    }
}
