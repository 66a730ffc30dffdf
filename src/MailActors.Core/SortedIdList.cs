using System.Runtime.InteropServices;

namespace MailActors.Core;

/// <summary>
/// Message ids of one folder view, ascending. 8 bytes per message; new mail appends at the
/// end (ids only grow), so inserts are O(1) in the common case and pages are a binary
/// search plus a walk of the page: O(log n + page), never O(mailbox).
/// </summary>
internal sealed class SortedIdList
{
    private readonly List<long> _ids = [];

    public int Count => _ids.Count;

    public void Add(long id)
    {
        if (_ids.Count == 0 || _ids[^1] < id)
        {
            _ids.Add(id);
            return;
        }
        var index = _ids.BinarySearch(id);
        if (index < 0) _ids.Insert(~index, id);
    }

    public bool Remove(long id)
    {
        var index = _ids.BinarySearch(id);
        if (index < 0) return false;
        _ids.RemoveAt(index);
        return true;
    }

    /// <summary>Index of the newest id strictly below <paramref name="before"/>, or -1.</summary>
    public int LastIndexBelow(long before)
    {
        if (before == long.MaxValue) return _ids.Count - 1;
        var index = _ids.BinarySearch(before);
        return (index >= 0 ? index : ~index) - 1;
    }

    public long this[int index] => _ids[index];

    public ReadOnlySpan<long> AsSpan() => CollectionsMarshal.AsSpan(_ids);

    public void TrimExcess() => _ids.TrimExcess();
}
