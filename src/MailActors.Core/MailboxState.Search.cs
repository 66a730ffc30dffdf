using MailActors.Core.Search;

namespace MailActors.Core;

/// <summary>
/// What the search index needs from the mailbox: the persisted segment list (part of the state
/// and its snapshot), a message's current facts at query time, and the text of stored messages.
/// </summary>
public sealed partial class MailboxState
{
    public IReadOnlyList<SearchSegmentRef> SearchSegments { get; private set; } = [];

    /// <summary>Folder, flags, size and date of a message now; null when it is gone.</summary>
    public MessageFacts? FactsOf(long messageId) =>
        _messages.TryGetValue(messageId, out var m)
            ? new MessageFacts(m.Folder.Id, m.IsRead, (m.Flags & MessageFlags.Flagged) != 0, m.Attachments.Length > 0, m.Size,
                DateTimeOffset.FromUnixTimeMilliseconds(m.DateMs == long.MinValue ? m.ReceivedAtMs : m.DateMs))
            : null;

    public MessageSummary? SummaryOf(long messageId) => _messages.TryGetValue(messageId, out var m) ? m.ToSummary() : null;

    public BlobId? BlobOf(long messageId) => _messages.TryGetValue(messageId, out var m) ? m.Blob : null;

    public bool HasFolder(string folderId) => _folders.ContainsKey(folderId);

    /// <summary>The index document of a stored message with <paramref name="body"/> as its text; null when it is gone.</summary>
    public IndexedMessage? IndexedMessageOf(long messageId, string body) =>
        _messages.TryGetValue(messageId, out var m) ? IndexedMessageOf(m.ToMetadata(), body) : null;

    public static IndexedMessage IndexedMessageOf(MessageMetadata meta, string body) =>
        new(meta.From, meta.To, meta.Cc, meta.Subject, body, meta.Attachments.Select(a => a.FileName).ToList());

    /// <summary>Messages with an id above <paramref name="messageId"/>, ascending, with their blobs (mail the index may lack).</summary>
    public IReadOnlyList<(long Id, BlobId Blob)> MessagesAbove(long messageId) =>
        _messages.Values.Where(m => m.Id > messageId).OrderBy(m => m.Id).Select(m => (m.Id, m.Blob)).ToList();

    /// <summary>The ids of live messages in [<paramref name="min"/>, <paramref name="max"/>] (what a segment merge keeps).</summary>
    public HashSet<long> LiveIdsBetween(long min, long max) =>
        _messages.Values.Where(m => m.Id >= min && m.Id <= max).Select(m => m.Id).ToHashSet();

    /// <summary>A folder by id or by name (case-insensitive), for in: in searches.</summary>
    public string? ResolveFolder(string idOrName)
    {
        if (_folders.ContainsKey(idOrName)) return idOrName;
        foreach (var f in _folders.Values)
            if (string.Equals(f.Id, idOrName, StringComparison.OrdinalIgnoreCase) || string.Equals(f.Name, idOrName, StringComparison.OrdinalIgnoreCase))
                return f.Id;
        return null;
    }

    private void ApplySearchSegments(SearchSegmentsChanged e) => SearchSegments = e.Segments.ToList();

    private void WriteSearchSegments(BinaryWriter w)
    {
        w.Write7BitEncodedInt(SearchSegments.Count);
        foreach (var s in SearchSegments)
        {
            WriteBlob(w, s.Blob);
            w.Write(s.MinId);
            w.Write(s.MaxId);
            w.Write(s.Count);
            w.Write(s.Bytes);
        }
    }

    private void ReadSearchSegments(BinaryReader r)
    {
        var count = r.Read7BitEncodedInt();
        var segments = new List<SearchSegmentRef>(count);
        for (var i = 0; i < count; i++)
            segments.Add(new SearchSegmentRef(ReadBlob(r),
                r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt64()));
        SearchSegments = segments;
    }
}
