namespace MailActors.Core.Search;

/// <summary>
/// A mailbox's search index, LSM-style: recent mail goes into a small mutable in-memory
/// <see cref="MessageIndex"/>; when that reaches <see cref="FlushAtMessages"/> (or
/// <see cref="FlushAtBytes"/>) it is frozen into an immutable segment that the owner writes to
/// the blob store; adjacent written segments of similar size are merged into one. Segment ranges
/// are disjoint and ascending, and every id in memory is above every segment's: a search walks
/// memory, then segments newest first, and stops when the page is full.
/// <para>
/// The class is pure bookkeeping; the mailbox actor does the I/O (loading, writing, merging
/// off-thread) and tells it the outcome. Written segments' refs are what the mailbox persists,
/// so a recovered mailbox knows its segments without reading any message body. Segments are
/// loaded only when the first search needs them.
/// </para>
/// </summary>
public sealed class MailboxSearchIndex(int flushAtMessages = MailboxSearchIndex.DefaultFlushAtMessages,
    long flushAtBytes = MailboxSearchIndex.DefaultFlushAtBytes, int mergeFactor = MailboxSearchIndex.DefaultMergeFactor)
{
    // Small, because recent mail's segment is held by every active mailbox, searched or not:
    // 256 messages of ~50 KB mail is ~3 MB. Merges keep the segment count logarithmic.
    public const int DefaultFlushAtMessages = 256;
    public const long DefaultFlushAtBytes = 4L << 20;
    public const int DefaultMergeFactor = 4;

    private readonly List<Segment> _segments = [];
    private MessageIndex _memory = new();

    public int FlushAtMessages { get; } = flushAtMessages;
    public long FlushAtBytes { get; } = flushAtBytes;

    /// <summary>An immutable part of the index: written (it has a <see cref="Ref"/>) or waiting to be; loaded or not.</summary>
    public sealed class Segment
    {
        internal Segment(SearchSegmentRef? segmentRef, MessageIndex? index, long minId, long maxId, int count)
        {
            Ref = segmentRef;
            Index = index;
            MinId = minId;
            MaxId = maxId;
            Count = count;
        }

        public SearchSegmentRef? Ref { get; internal set; }
        public MessageIndex? Index { get; internal set; }
        public long MinId { get; }
        public long MaxId { get; }
        public int Count { get; }
        internal bool Merging { get; set; }
    }

    /// <summary>Starts from persisted segments (recovery); none is loaded yet, memory is empty.</summary>
    public void Restore(IReadOnlyList<SearchSegmentRef> segments)
    {
        _segments.Clear();
        _memory = new MessageIndex();
        foreach (var r in segments.OrderBy(s => s.MinId)) _segments.Add(new Segment(r, null, r.MinId, r.MaxId, r.Count));
    }

    /// <summary>Every id up to here is in a written segment or was not alive when it was written.</summary>
    public long IndexedThrough => _segments.Where(s => s.Ref is not null).Select(s => s.MaxId).DefaultIfEmpty(0).Max();

    /// <summary>The largest id indexed so far (0 when empty); new mail must come above it.</summary>
    public long LastId => Math.Max(_memory.MaxId, _segments.Count == 0 ? 0 : _segments[^1].MaxId);

    public IReadOnlyList<Segment> Segments => _segments;

    /// <summary>Written segments not yet loaded: a search must wait for them.</summary>
    public IReadOnlyList<SearchSegmentRef> Unloaded => _segments.Where(s => s.Index is null).Select(s => s.Ref!).ToList();

    public bool IsLoaded => _segments.TrueForAll(s => s.Index is not null);

    /// <summary>The refs of the written segments, ascending: what the mailbox persists.</summary>
    public IReadOnlyList<SearchSegmentRef> WrittenRefs => _segments.Where(s => s.Ref is not null).Select(s => s.Ref!).ToList();

    public int MessagesInMemory => _memory.Count;

    /// <summary>Messages indexed (deleted ones count until a merge drops them).</summary>
    public int Count => _memory.Count + _segments.Sum(s => s.Count);

    /// <summary>Heap bytes of the in-memory segment and every loaded segment.</summary>
    public long MemoryBytes => _memory.ApproximateBytes + _segments.Sum(s => s.Index?.ApproximateBytes ?? 0);

    /// <summary>Bytes of the written segments (serialized, before the blob store's compression).</summary>
    public long DiskBytes => _segments.Sum(s => s.Ref?.Bytes ?? 0);

    /// <summary>A loaded segment; false if it is no longer part of the index (merged away meanwhile).</summary>
    public bool Loaded(SearchSegmentRef segment, MessageIndex index)
    {
        var s = _segments.Find(x => x.Ref == segment);
        if (s is null) return false;
        index.Freeze();
        s.Index ??= index;
        return true;
    }

    /// <summary>Drops the loaded written segments from memory (a mailbox nobody searched for a while); the next search loads them again.</summary>
    public void Unload()
    {
        foreach (var s in _segments)
            if (s.Ref is not null) s.Index = null;
    }

    /// <summary>Indexes new mail; ids must grow (mail is numbered in arrival order).</summary>
    public void Add(long messageId, IndexedMessage message)
    {
        if (messageId <= LastId) throw new ArgumentOutOfRangeException(nameof(messageId), $"Message {messageId} is not above {LastId}.");
        _memory.Add(messageId, message);
    }

    public bool FlushDue => _memory.Count >= FlushAtMessages || _memory.Count > 0 && _memory.ApproximateBytes >= FlushAtBytes;

    /// <summary>
    /// Turns the in-memory segment into an immutable one (still searched) and starts a new one;
    /// null when memory is empty. The caller writes <see cref="Segment.Index"/> and calls <see cref="Written"/>.
    /// </summary>
    public Segment? Freeze()
    {
        if (_memory.Count == 0) return null;
        _memory.Freeze();
        var segment = new Segment(null, _memory, _memory.MinId, _memory.MaxId, _memory.Count);
        _segments.Add(segment);
        _memory = new MessageIndex();
        return segment;
    }

    public void Written(Segment segment, SearchSegmentRef written)
    {
        if (!_segments.Contains(segment)) throw new InvalidOperationException("Unknown segment.");
        segment.Ref = written;
    }

    /// <summary>
    /// The oldest run of <c>mergeFactor</c> adjacent written segments in the same size tier
    /// (tier = ⌊log_mergeFactor(count / flush size)⌋), so each message is rewritten about
    /// log(n) times over its life; null when there is nothing to merge. The run is marked until
    /// <see cref="Merged"/> or <see cref="MergeFailed"/>.
    /// </summary>
    public IReadOnlyList<Segment>? PlanMerge()
    {
        for (var start = 0; start + mergeFactor <= _segments.Count; start++)
        {
            var run = _segments.GetRange(start, mergeFactor);
            if (run.Any(s => s.Ref is null || s.Merging)) continue;
            var tier = Tier(run[0].Count);
            if (!run.TrueForAll(s => Tier(s.Count) == tier)) continue;
            foreach (var s in run) s.Merging = true;
            return run;
        }
        return null;
    }

    private int Tier(int count)
    {
        var tier = 0;
        for (long size = Math.Max(1, FlushAtMessages); count >= size * mergeFactor; size *= mergeFactor) tier++;
        return tier;
    }

    /// <summary>Replaces a merged run by its result (null index: the result isn't kept loaded).</summary>
    public void Merged(IReadOnlyList<Segment> run, SearchSegmentRef result, MessageIndex? index)
    {
        var start = _segments.IndexOf(run[0]);
        if (start < 0 || _segments.Count < start + run.Count || !run.Select((s, i) => _segments[start + i] == s).All(x => x))
            throw new InvalidOperationException("The merged segments are no longer in place.");
        _segments.RemoveRange(start, run.Count);
        if (result.Count > 0) _segments.Insert(start, new Segment(result, index, result.MinId, result.MaxId, result.Count));
    }

    public void MergeFailed(IReadOnlyList<Segment> run)
    {
        foreach (var s in run) s.Merging = false;
    }

    /// <summary>
    /// Matching ids newest first (see <see cref="MessageIndex.Search"/>); every segment must be
    /// loaded (<see cref="IsLoaded"/>).
    /// </summary>
    public IReadOnlyList<long> Search(SearchQuery query, Func<long, MessageFacts?> facts, int limit, long? beforeId = null)
    {
        if (!IsLoaded) throw new InvalidOperationException("Load the segments first.");
        var results = new List<long>(_memory.Search(query, facts, limit, beforeId));
        for (var i = _segments.Count - 1; i >= 0 && results.Count < limit; i--)
        {
            var segment = _segments[i];
            if (beforeId is { } before && segment.MinId >= before) continue;
            results.AddRange(segment.Index!.Search(query, facts, limit - results.Count, beforeId));
        }
        return results;
    }
}
