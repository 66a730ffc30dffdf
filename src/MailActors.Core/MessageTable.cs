using System.Diagnostics.CodeAnalysis;

namespace MailActors.Core;

/// <summary>
/// A mailbox's messages by id: a list kept sorted by id, looked up by binary search. Ids only
/// grow, so delivery appends; compared with a dictionary it saves ~30 bytes per message and
/// enumerates in id order for free.
/// </summary>
internal sealed class MessageTable
{
    private readonly List<StoredMessage> _items = [];

    public int Count => _items.Count;

    public IEnumerable<StoredMessage> Values => _items;

    public bool TryGetValue(long id, [MaybeNullWhen(false)] out StoredMessage message)
    {
        var index = IndexOf(id);
        message = index >= 0 ? _items[index] : null;
        return index >= 0;
    }

    public StoredMessage? GetValueOrDefault(long id) => TryGetValue(id, out var m) ? m : null;

    public StoredMessage this[long id]
    {
        get => TryGetValue(id, out var m) ? m : throw new KeyNotFoundException($"message {id}");
        set
        {
            if (value.Id != id) throw new ArgumentException("the message's id must be the key");
            if (_items.Count == 0 || _items[^1].Id < id)
            {
                _items.Add(value);
                return;
            }
            var index = IndexOf(id);
            if (index >= 0) _items[index] = value;
            else _items.Insert(~index, value);
        }
    }

    public bool Remove(long id, [MaybeNullWhen(false)] out StoredMessage message)
    {
        var index = IndexOf(id);
        if (index < 0)
        {
            message = null;
            return false;
        }
        message = _items[index];
        _items.RemoveAt(index);
        return true;
    }

    private int IndexOf(long id)
    {
        int lo = 0, hi = _items.Count - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            var midId = _items[mid].Id;
            if (midId == id) return mid;
            if (midId < id) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }
}
