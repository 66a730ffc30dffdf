using System.Runtime.InteropServices;

namespace MailActors.Core.Search;

/// <summary>
/// One mailbox's full-text index: per field (from, to, cc, subject, body, attachment names) a
/// term → <see cref="PostingList"/> map. Flags, folder, size and date are not indexed: they
/// come from the mailbox through the <c>facts</c> callback at query time, so moves and flag
/// changes need no index update. Not thread-safe; it lives inside the mailbox actor.
/// <para>
/// Phrases: every text-field posting carries the term's word positions in that field, and a
/// phrase is the messages holding all its words, checked for consecutive positions. Positions
/// cost about one byte per indexed word plus one per (message, term) — roughly as much again
/// as the ids themselves on a typical body — and they buy exact phrases and "bob.smith"-style
/// multi-part words without keeping message text. Values of a multi-value field (recipients,
/// attachment names) are a position apart, so a phrase never spans two of them.
/// </para>
/// <para>
/// Deletions go into a removed-set that searches filter out; once it reaches an eighth of the
/// mailbox (and at least <see cref="DefaultCompactAfterRemoved"/>), every list is rewritten
/// without them — O(index), amortized over the deletions that triggered it.
/// </para>
/// </summary>
public sealed partial class MessageIndex
{
    /// <summary>
    /// Only this much of a body (UTF-16 units, 64 KiB of ASCII) is indexed: long enough for
    /// real prose, and it bounds indexing time and memory for a message that is a log dump.
    /// </summary>
    public const int MaxBodyChars = 64 * 1024;

    public const int DefaultCompactAfterRemoved = 256;

    private const int FieldCount = 6;
    private const int From = 0, To = 1, Cc = 2, Subject = 3, Body = 4, Filename = 5;
    private const int RemovedEntryBytes = 20;
    private const int FixedBytes = 1024;

    private readonly FieldIndex[] _fields = new FieldIndex[FieldCount];
    private readonly HashSet<long> _removed = [];
    private readonly int _compactAfterRemoved;
    private PostingList _all = new(positional: false); // every id added and not yet compacted away
    private long _bytes = FixedBytes;

    public MessageIndex() : this(DefaultCompactAfterRemoved)
    {
    }

    internal MessageIndex(int compactAfterRemoved)
    {
        _compactAfterRemoved = compactAfterRemoved;
        for (var f = 0; f < FieldCount; f++) _fields[f] = new FieldIndex();
    }

    /// <summary>Messages in the index.</summary>
    public int Count => _all.Count - _removed.Count;

    /// <summary>The smallest indexed id (-1 when empty).</summary>
    public long MinId => _all.Count == 0 ? -1 : _all.BlockFirstId(0);

    /// <summary>The largest indexed id (-1 when empty).</summary>
    public long MaxId => _all.LastId;

    /// <summary>
    /// Finishes pending internal reorganisation (recent terms into the sorted array, buffers
    /// trimmed) so that from now on reads change nothing: a frozen index that no one adds to
    /// can be searched, serialized and merged from several threads at once.
    /// </summary>
    public void Freeze()
    {
        Compact();
        _slots.Clear();
        _slots.TrimExcess();
        _slotTerms.Clear();
        _slotPositions.Clear();
        foreach (var field in _fields) field.Freeze();
        _all.TrimExcess();
        _bytes = FixedBytes;
        foreach (var field in _fields) _bytes += field.ApproximateBytes();
    }

    /// <summary>
    /// One index holding the messages of <paramref name="parts"/> for which <paramref name="keep"/>
    /// is true (a merge of segments, dropping deleted mail). Parts are read only; the result is frozen.
    /// </summary>
    public static MessageIndex Merge(IEnumerable<MessageIndex> parts, Func<long, bool> keep)
    {
        var merged = new MessageIndex();
        long[] ids = [];
        int[] starts = [], positions = [];
        foreach (var part in parts.OrderBy(p => p.MinId))
        {
            var removed = part._removed;
            Func<long, bool> kept = removed.Count == 0 ? keep : id => keep(id) && !removed.Contains(id);
            merged._all.AppendFrom(part._all, kept, ref ids, ref starts, ref positions);
            for (var f = 0; f < FieldCount; f++)
            {
                var source = part._fields[f];
                var target = merged._fields[f];
                foreach (var term in source.SortedTerms())
                {
                    var list = target.GetOrAdd(term, ref merged._bytes);
                    list.AppendFrom(source.Get(term)!, kept, ref ids, ref starts, ref positions);
                }
            }
        }
        merged.DropEmptyTerms();
        merged.Freeze();
        return merged;
    }

    /// <summary>Approximate heap bytes held (64-bit object layout), for the mailbox's memory budget.</summary>
    public long ApproximateBytes => _bytes + _all.ApproximateBytes + (long)_removed.Count * RemovedEntryBytes;

    /// <summary>
    /// Indexes a message. Ids normally grow (new mail): that appends to each list's tail.
    /// Adding an id that is already indexed replaces it, which compacts the whole index first.
    /// </summary>
    public void Add(long messageId, IndexedMessage message)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(messageId);
        ArgumentNullException.ThrowIfNull(message);
        if (messageId <= _all.LastId && _all.Contains(messageId))
        {
            // Its old terms are unknown without its old text: purge it from every list.
            _removed.Add(messageId);
            Compact();
        }

        var body = message.Body ?? "";
        if (body.Length > MaxBodyChars) body = body[..MaxBodyChars];
        IndexField(From, [message.From], addresses: true, messageId);
        IndexField(To, message.To, addresses: true, messageId);
        IndexField(Cc, message.Cc, addresses: true, messageId);
        IndexField(Subject, [message.Subject], addresses: false, messageId);
        IndexField(Body, [body], addresses: false, messageId);
        IndexField(Filename, message.AttachmentNames, addresses: false, messageId);
        _all.Add(messageId, default);
    }

    /// <summary>Forgets a message; false if it isn't indexed.</summary>
    public bool Remove(long messageId)
    {
        if (_removed.Contains(messageId) || !_all.Contains(messageId)) return false;
        _removed.Add(messageId);
        if (_removed.Count >= Math.Max(_compactAfterRemoved, Count / 8)) Compact();
        return true;
    }

    private void DropEmptyTerms()
    {
        foreach (var field in _fields) field.DropEmptyLists();
    }

    /// <summary>Rewrites every list without the removed messages (also done automatically, see the class remarks).</summary>
    public void Compact()
    {
        if (_removed.Count == 0) return;
        _bytes = FixedBytes;
        foreach (var field in _fields) _bytes += field.RemoveIds(_removed);
        _all.RemoveIds(_removed);
        _removed.Clear();
        _removed.TrimExcess();
    }

    /// <summary>
    /// Ids of matching messages, newest (largest id) first, at most <paramref name="limit"/>,
    /// all below <paramref name="beforeId"/> when given (the last id of the previous page).
    /// <paramref name="facts"/> gives a message's current folder, flags, size and date; a
    /// message it returns null for is skipped (no longer in the mailbox).
    /// </summary>
    public IReadOnlyList<long> Search(SearchQuery query, Func<long, MessageFacts?> facts, int limit, long? beforeId = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(facts);
        if (limit <= 0 || beforeId <= 0) return [];

        var positive = new List<DocIterator>();
        var negative = new List<DocIterator>();
        var filters = new List<SearchClause>();
        foreach (var clause in query.Clauses)
        {
            DocIterator? iterator = clause switch
            {
                TextClause t => AnyField(t.Fields, field => Words(field, t.Terms, t.Prefix)),
                AddressClause a => AnyField(a.Field, field => Term(field, a.Term, a.Prefix)),
                _ => null,
            };
            if (iterator is null) filters.Add(clause);
            else (clause.Negated ? negative : positive).Add(iterator);
        }

        DocIterator driver = positive.Count switch
        {
            0 => new PostingIterator(_all),
            1 => positive[0],
            _ => new AndIterator([.. positive]),
        };
        var results = new List<long>(Math.Min(limit, 1024));
        var target = beforeId - 1 ?? long.MaxValue;
        while (target >= 0 && results.Count < limit)
        {
            var id = driver.SeekAtMost(target);
            if (id < 0) break;
            target = id - 1;
            if (_removed.Contains(id) || IsExcluded(id, negative)) continue;
            if (facts(id) is not { } f || !Matches(filters, f)) continue;
            results.Add(id);
        }
        return results;
    }

    // Scratch for IndexField, reused from message to message (the index has one writer): a
    // message's distinct terms in first-seen order and each one's positions.
    private readonly Dictionary<string, int> _slots = new(StringComparer.Ordinal);
    private readonly List<string> _slotTerms = [];
    private readonly List<List<int>> _slotPositions = [];

    private void IndexField(int field, IEnumerable<string> values, bool addresses, long id)
    {
        _slots.Clear();
        _slotTerms.Clear();
        var position = 0;
        foreach (var value in values)
        {
            foreach (var term in Tokenizer.Terms(value)) Slot(term).Add(position++);
            position++; // a gap: phrases don't run from one value into the next
            if (!addresses) continue;
            foreach (var term in Tokenizer.AddressTerms(value)) Slot(term);
        }

        var index = _fields[field];
        for (var i = 0; i < _slotTerms.Count; i++)
        {
            var list = index.GetOrAdd(_slotTerms[i], ref _bytes);
            var before = list.ApproximateBytes;
            list.Add(id, CollectionsMarshal.AsSpan(_slotPositions[i]));
            _bytes += list.ApproximateBytes - before;
        }
    }

    private List<int> Slot(string term)
    {
        if (_slots.TryGetValue(term, out var slot)) return _slotPositions[slot];
        slot = _slotTerms.Count;
        _slots.Add(term, slot);
        _slotTerms.Add(term);
        if (slot == _slotPositions.Count) _slotPositions.Add([]);
        var positions = _slotPositions[slot];
        positions.Clear();
        return positions;
    }

    /// <summary>Messages matching in any of the fields (never null: no field, no match).</summary>
    private DocIterator AnyField(SearchFields fields, Func<FieldIndex, DocIterator?> match)
    {
        var matches = new List<DocIterator>();
        for (var f = 0; f < FieldCount; f++)
            if ((fields & (SearchFields)(1 << f)) != 0 && match(_fields[f]) is { } m) matches.Add(m);
        return Union(matches);
    }

    /// <summary>One word, or a phrase, in one field; null when some word isn't in the field at all.</summary>
    private static DocIterator? Words(FieldIndex field, IReadOnlyList<string> terms, bool prefix)
    {
        if (terms.Count == 0) return null; // only a hand-built clause can be empty: it matches nothing
        if (terms.Count == 1) return Term(field, terms[0], prefix);
        var words = new DocIterator[terms.Count];
        for (var i = 0; i < terms.Count; i++)
        {
            var word = i < terms.Count - 1 ? Term(field, terms[i], prefix: false) : Term(field, terms[i], prefix);
            if (word is null) return null;
            words[i] = word;
        }
        return new PhraseIterator(words);
    }

    private static DocIterator? Term(FieldIndex field, string term, bool prefix)
    {
        if (!prefix) return field.Get(term) is { } list ? new PostingIterator(list) : null;
        var expansions = field.WithPrefix(term).Select(DocIterator (l) => new PostingIterator(l)).ToList();
        return expansions.Count == 0 ? null : Union(expansions);
    }

    private static DocIterator Union(List<DocIterator> iterators) => iterators.Count switch
    {
        0 => EmptyIterator.Instance,
        1 => iterators[0],
        _ => new UnionIterator([.. iterators]),
    };

    private static bool IsExcluded(long id, List<DocIterator> negative)
    {
        foreach (var n in negative)
            if (n.SeekAtMost(id) == id) return true;
        return false;
    }

    private static bool Matches(List<SearchClause> filters, MessageFacts f)
    {
        foreach (var clause in filters)
        {
            var match = clause switch
            {
                FlagClause { Flag: SearchFlag.HasAttachment } => f.HasAttachment,
                FlagClause { Flag: SearchFlag.Unread } => !f.Read,
                FlagClause { Flag: SearchFlag.Read } => f.Read,
                FlagClause { Flag: SearchFlag.Flagged } => f.Flagged,
                FolderClause c => string.Equals(f.FolderId, c.Folder, StringComparison.OrdinalIgnoreCase),
                DateClause { Before: true } c => f.Date < c.Instant,
                DateClause c => f.Date >= c.Instant,
                SizeClause { Larger: true } c => f.Size > c.Bytes,
                SizeClause c => f.Size < c.Bytes,
                _ => true,
            };
            if (match == clause.Negated) return false;
        }
        return true;
    }
}
