namespace MailActors.Core.Search;

/// <summary>
/// A set of message ids walked newest first. Searches only ever ask for smaller and smaller
/// ids, so every iterator moves one way and stops as soon as a page is full: a query over
/// 100,000 messages that wants 50 results decodes the blocks those 50 live in, not the lists.
/// </summary>
internal abstract class DocIterator
{
    /// <summary>The largest id in the set that is ≤ <paramref name="target"/>, or -1. Targets never increase between calls.</summary>
    public abstract long SeekAtMost(long target);

    /// <summary>Word positions of the id last returned, ascending; empty where unknown.</summary>
    public virtual ReadOnlySpan<int> Positions => default;
}

internal sealed class EmptyIterator : DocIterator
{
    public static readonly EmptyIterator Instance = new();

    public override long SeekAtMost(long target) => -1;
}

internal sealed class PostingIterator(PostingList list) : DocIterator
{
    private long _current = long.MaxValue;
    private bool _started;
    private int _block = -1;
    private int _index;
    private long[] _ids = [];
    private int[] _starts = [];
    private int[] _positions = [];

    public override long SeekAtMost(long target)
    {
        if (_started && _current <= target) return _current;
        _started = true;
        if (_block < 0 || target < list.BlockFirstId(_block))
        {
            _block = list.FindBlock(target);
            if (_block < 0) return _current = -1;
            _index = list.DecodeBlock(_block, ref _ids, ref _starts, ref _positions) - 1;
        }
        // The block's first id is ≤ target, so this stops inside the block.
        while (_ids[_index] > target) _index--;
        return _current = _ids[_index];
    }

    public override ReadOnlySpan<int> Positions => _positions.AsSpan(_starts[_index], _starts[_index + 1] - _starts[_index]);
}

/// <summary>Ids in any child (a term in any of several fields, or any term with a prefix).</summary>
internal sealed class UnionIterator(DocIterator[] children) : DocIterator
{
    private readonly long[] _at = new long[children.Length];
    private long _current;
    private int[] _merged = [];

    public override long SeekAtMost(long target)
    {
        var best = -1L;
        for (var i = 0; i < children.Length; i++)
        {
            _at[i] = children[i].SeekAtMost(target);
            if (_at[i] > best) best = _at[i];
        }
        return _current = best;
    }

    public override ReadOnlySpan<int> Positions
    {
        get
        {
            // Several prefix expansions can sit on the same message: their positions, merged.
            var count = 0;
            var first = -1;
            var total = 0;
            for (var i = 0; i < children.Length; i++)
            {
                if (_at[i] != _current) continue;
                if (count++ == 0) first = i;
                total += children[i].Positions.Length;
            }
            if (count == 1) return children[first].Positions;
            if (_merged.Length < total) _merged = new int[total];
            var n = 0;
            for (var i = 0; i < children.Length; i++)
            {
                if (_at[i] != _current) continue;
                children[i].Positions.CopyTo(_merged.AsSpan(n));
                n += children[i].Positions.Length;
            }
            var merged = _merged.AsSpan(0, n);
            merged.Sort();
            return merged;
        }
    }
}

/// <summary>Ids in every child, by leapfrogging: each child jumps to the smallest id any other has reached.</summary>
internal sealed class AndIterator(DocIterator[] children) : DocIterator
{
    private long _current = long.MaxValue;
    private bool _started;

    public override long SeekAtMost(long target)
    {
        if (_started && _current <= target) return _current;
        _started = true;
        var candidate = target;
        var agree = 0;
        for (var i = 0; ; i = (i + 1) % children.Length)
        {
            var id = children[i].SeekAtMost(candidate);
            if (id < 0) return _current = -1;
            if (id == candidate) agree++;
            else
            {
                candidate = id;
                agree = 1;
            }
            if (agree == children.Length) return _current = candidate;
        }
    }
}

/// <summary>Words at consecutive positions in one field: the ids where all occur, then checked by position.</summary>
internal sealed class PhraseIterator(DocIterator[] words) : DocIterator
{
    private readonly AndIterator _all = new(words);
    private long _current = long.MaxValue;
    private bool _started;

    public override long SeekAtMost(long target)
    {
        if (_started && _current <= target) return _current;
        _started = true;
        while (target >= 0)
        {
            var id = _all.SeekAtMost(target);
            if (id < 0) break;
            if (InOrder()) return _current = id;
            target = id - 1;
        }
        return _current = -1;
    }

    private bool InOrder()
    {
        foreach (var start in words[0].Positions)
        {
            var i = 1;
            while (i < words.Length && words[i].Positions.BinarySearch(start + i) >= 0) i++;
            if (i == words.Length) return true;
        }
        return false;
    }
}
