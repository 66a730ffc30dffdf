namespace MailActors.Core.Search;

/// <summary>
/// One field's terms: a hash map for exact look-ups and an ordinal-sorted array for prefixes
/// (terms sharing a prefix are contiguous, found by binary search). New terms wait in a small
/// unsorted list that is merged into the array once it outgrows ~4·√n, so adding a term never
/// shifts the whole array and a prefix search scans at most that short list besides its range.
/// </summary>
internal sealed class FieldIndex
{
    // Dictionary entry + bucket + sorted-array slot, per term (64-bit).
    private const int TermSlotBytes = 36;

    private readonly Dictionary<string, PostingList> _lists = new(StringComparer.Ordinal);
    private string[] _sorted = [];
    private readonly List<string> _recent = [];

    public int TermCount => _lists.Count;

    public PostingList? Get(string term) => _lists.GetValueOrDefault(term);

    /// <summary>The term's list, created (with its memory counted into <paramref name="bytes"/>) if new.</summary>
    public PostingList GetOrAdd(string term, ref long bytes)
    {
        if (_lists.TryGetValue(term, out var list)) return list;
        list = new PostingList(positional: true);
        _lists.Add(term, list);
        _recent.Add(term);
        bytes += TermBytes(term) + list.ApproximateBytes;
        if (_recent.Count > Math.Max(64, 4 * (int)Math.Sqrt(_sorted.Length))) MergeRecent();
        return list;
    }

    public IEnumerable<PostingList> WithPrefix(string prefix)
    {
        var index = Array.BinarySearch(_sorted, prefix, StringComparer.Ordinal);
        for (var i = index >= 0 ? index : ~index; i < _sorted.Length && _sorted[i].StartsWith(prefix, StringComparison.Ordinal); i++)
            yield return _lists[_sorted[i]];
        foreach (var term in _recent)
            if (term.StartsWith(prefix, StringComparison.Ordinal)) yield return _lists[term];
    }

    /// <summary>Terms in ordinal order (for serialization).</summary>
    public IReadOnlyList<string> SortedTerms()
    {
        MergeRecent();
        return _sorted;
    }

    /// <summary>Sorts pending terms in and trims every list: afterwards reads mutate nothing.</summary>
    public void Freeze()
    {
        MergeRecent();
        foreach (var list in _lists.Values) list.TrimExcess();
    }

    /// <summary>Drops the ids from every list and forgets terms left with none; returns the bytes now used.</summary>
    public long RemoveIds(IReadOnlySet<long> ids)
    {
        var emptied = new List<string>();
        foreach (var (term, list) in _lists)
            if (list.RemoveIds(ids) == 0) emptied.Add(term);
        foreach (var term in emptied) _lists.Remove(term);
        if (emptied.Count > 0)
        {
            _recent.Clear();
            _sorted = _lists.Keys.Order(StringComparer.Ordinal).ToArray();
        }
        _lists.TrimExcess();
        return ApproximateBytes();
    }

    /// <summary>Forgets terms whose list is empty (after a merge dropped all their messages).</summary>
    public void DropEmptyLists()
    {
        var emptied = _lists.Where(e => e.Value.Count == 0).Select(e => e.Key).ToList();
        if (emptied.Count == 0) return;
        foreach (var term in emptied) _lists.Remove(term);
        MergeRecent();
        _sorted = _sorted.Where(_lists.ContainsKey).ToArray();
    }

    public long ApproximateBytes()
    {
        long bytes = 0;
        foreach (var (term, list) in _lists) bytes += TermBytes(term) + list.ApproximateBytes;
        return bytes;
    }

    /// <summary>Loads terms already in ordinal order (checked) with their lists.</summary>
    public void Load(List<(string Term, PostingList List)> terms)
    {
        for (var i = 1; i < terms.Count; i++)
            if (string.CompareOrdinal(terms[i - 1].Term, terms[i].Term) >= 0) throw new InvalidDataException("Terms are not sorted.");
        _lists.EnsureCapacity(terms.Count);
        foreach (var (term, list) in terms) _lists.Add(term, list);
        _sorted = terms.Select(t => t.Term).ToArray();
    }

    private static long TermBytes(string term) => TermSlotBytes + ((22 + 2L * term.Length + 7) & ~7L);

    private void MergeRecent()
    {
        if (_recent.Count == 0) return;
        _recent.Sort(StringComparer.Ordinal);
        var merged = new string[_sorted.Length + _recent.Count];
        int a = 0, b = 0, m = 0;
        while (a < _sorted.Length && b < _recent.Count)
            merged[m++] = string.CompareOrdinal(_sorted[a], _recent[b]) < 0 ? _sorted[a++] : _recent[b++];
        while (a < _sorted.Length) merged[m++] = _sorted[a++];
        while (b < _recent.Count) merged[m++] = _recent[b++];
        _sorted = merged;
        _recent.Clear();
    }
}
