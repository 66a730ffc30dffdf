using Akka.Actor;
using Akka.Event;
using MailActors.Core;
using MailActors.Core.Search;
using MailActors.Mime;
using MailActors.Storage.Blobs;

namespace MailActors.Cluster.Mailboxes;

/// <summary>
/// The mailbox's search index (<see cref="MailboxSearchIndex"/>) and its I/O. New mail is
/// indexed in the actor when the delivery is handled, from the body text the edge passed, so it
/// is searchable when the delivery is acknowledged. Mail without text (an edge that didn't pass
/// it, or the unflushed tail after a restart) waits in id order while its bodies are read from
/// the blob store off-thread; searches wait for that and for segments to load. Flushes and
/// merges serialize and write segments off-thread; the actor then persists the new segment list.
/// </summary>
public sealed partial class MailboxActor : IWithTimers
{
    private const int FetchBatch = 256;
    private const int FetchParallelism = 4;

    private readonly IBlobStore? _blobs;
    private readonly MailboxSearchIndex _search;
    // Mail to index, ascending ids; Text null = body still to be read from the blob store;
    // Meta = the delivery's metadata when at hand (saves unpacking it from the state).
    private readonly LinkedList<(long Id, string? Text, MessageMetadata? Meta)> _toIndex = new();
    private readonly List<(object Query, IActorRef Sender)> _waitingSearches = [];
    private bool _fetching;
    private bool _loading;
    private MailboxSearchIndex.Segment? _writing;
    private IReadOnlyList<MailboxSearchIndex.Segment>? _merging;
    private bool _stopping;
    private bool _searchedRecently; // within SearchUnloadAfter: keep written segments loaded

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record BodiesRead(Dictionary<long, string> Texts, int Failed);
    private sealed record SegmentsLoaded(List<(SearchSegmentRef Ref, MessageIndex? Index, Exception? Error)> Segments);
    private sealed record SegmentWritten(MailboxSearchIndex.Segment Segment, SearchSegmentRef? Ref, Exception? Error);
    private sealed record SegmentsMerged(IReadOnlyList<MailboxSearchIndex.Segment> Run, SearchSegmentRef? Ref, MessageIndex? Index, Exception? Error);
    private sealed class RetryFlush
    {
        public static readonly RetryFlush Instance = new();
    }

    private sealed class UnloadSegments
    {
        public static readonly UnloadSegments Instance = new();
    }

    private bool SearchReady => _toIndex.Count == 0 && _search.IsLoaded;

    /// <summary>After recovery: the persisted segments (not loaded yet) and the mail no segment holds.</summary>
    private void RecoverSearch()
    {
        _search.Restore(_state.SearchSegments);
        foreach (var (id, _) in _state.MessagesAbove(_search.IndexedThrough)) _toIndex.AddLast((id, null, null));
        if (_toIndex.Count > 0) _log.Info("{0}: {1} messages are not in a written index segment; reading their bodies", _mailbox, _toIndex.Count);
        DrainIndexQueue();
    }

    private void IndexDelivered(IReadOnlyList<IMailboxEvent> events, IMailboxCommand command)
    {
        foreach (var e in events)
            if (e is MessageDelivered d)
                _toIndex.AddLast((d.MessageId, (command as DeliverMessage)?.BodyText, d.Metadata));
        DrainIndexQueue();
    }

    private bool HandleSearch(object message)
    {
        switch (message)
        {
            case SearchMessages or GetSearchStats when !_state.IsRegistered:
                RejectUnknown();
                return true;
            case SearchMessages q:
                if (!SearchReady) Wait(q);
                else ReplyAfterPendingWrites(Search(q));
                _searchedRecently = true;
                Timers.StartSingleTimer(nameof(UnloadSegments), UnloadSegments.Instance, _settings.SearchUnloadAfter);
                return true;
            case UnloadSegments:
                _searchedRecently = false;
                UnloadIfIdle();
                return true;
            case GetSearchStats:
                ReplyAfterPendingWrites(new SearchStatsReply(_search.Count, _search.WrittenRefs.Count, _search.MemoryBytes, _search.DiskBytes,
                    Busy: _writing is not null || _merging is not null || _toIndex.Count > 0));
                return true;
            case BodiesRead read:
                OnBodiesRead(read);
                return true;
            case SegmentsLoaded loaded:
                OnSegmentsLoaded(loaded);
                return true;
            case SegmentWritten written:
                OnSegmentWritten(written);
                return true;
            case SegmentsMerged merged:
                OnSegmentsMerged(merged);
                return true;
            case RetryFlush:
                WriteSegments();
                return true;
            default:
                return false;
        }
    }

    private IMailboxReply Search(SearchMessages q)
    {
        if (q.Limit is < 1 or > SearchMessages.MaxLimit) return new MailboxError(MailboxErrorCode.Invalid, $"limit must be 1..{SearchMessages.MaxLimit}");
        long? before = null;
        if (q.Cursor is not null)
        {
            if (!MessageCursor.TryDecode(q.Cursor, out var last)) return new MailboxError(MailboxErrorCode.Invalid, "the cursor is not valid");
            before = last;
        }
        if (q.FolderId is not null && !_state.HasFolder(q.FolderId)) return new MailboxError(MailboxErrorCode.NotFound, "no such folder");
        if (!SearchQuery.TryParse(q.Query, out var query, out var error)) return new MailboxError(MailboxErrorCode.Invalid, error);

        // in: takes a folder's id or its name.
        query = new SearchQuery(query.Clauses.Select(c => c is FolderClause f && _state.ResolveFolder(f.Folder) is { } id ? f with { Folder = id } : c).ToList());
        var folder = q.FolderId;
        Func<long, MessageFacts?> facts = folder is null
            ? _state.FactsOf
            : id => _state.FactsOf(id) is { } f && f.FolderId == folder ? f : null;
        var ids = _search.Search(query, facts, q.Limit + 1, before);
        var items = ids.Take(q.Limit).Select(id => _state.SummaryOf(id)!).ToList();
        return new MessagePageReply(items, ids.Count > q.Limit ? MessageCursor.Encode(items[^1].Id) : null);
    }

    private void Wait(object query)
    {
        _waitingSearches.Add((query, Sender));
        if (!_search.IsLoaded) LoadSegments();
    }

    private void ReleaseWaitingSearches()
    {
        if (!SearchReady || _waitingSearches.Count == 0) return;
        foreach (var (query, sender) in _waitingSearches) Self.Tell(query, sender);
        _waitingSearches.Clear();
    }

    private void FailWaitingSearches(string why)
    {
        foreach (var (_, sender) in _waitingSearches) sender.Tell(new MailboxError(MailboxErrorCode.Unavailable, why));
        _waitingSearches.Clear();
    }

    // ---- indexing --------------------------------------------------------------------------

    private void DrainIndexQueue()
    {
        while (_toIndex.First is { } head && (head.Value.Text is not null || _blobs is null))
        {
            _toIndex.RemoveFirst();
            var (id, text, meta) = head.Value;
            if (id <= _search.LastId) continue; // already indexed (cannot happen by construction; never index twice)
            var document = meta is not null && _state.BlobOf(id) is not null
                ? MailboxState.IndexedMessageOf(meta, text ?? "")
                : _state.IndexedMessageOf(id, text ?? "");
            if (document is not null) _search.Add(id, document);
        }
        if (_toIndex.Count > 0) ReadBodies();
        WriteSegments();
        ReleaseWaitingSearches();
    }

    /// <summary>Reads the bodies of queued mail that came without text, a batch at a time.</summary>
    private void ReadBodies()
    {
        if (_fetching || _blobs is not { } blobs) return;
        var batch = new List<(long Id, BlobId Blob)>();
        foreach (var (id, text, _) in _toIndex)
        {
            if (text is not null) continue;
            if (_state.BlobOf(id) is { } blob) batch.Add((id, blob));
            if (batch.Count == FetchBatch) break;
        }
        _fetching = true;
        ReadBodiesAsync(blobs, batch).PipeTo(Self);
    }

    private static async Task<BodiesRead> ReadBodiesAsync(IBlobStore blobs, List<(long Id, BlobId Blob)> batch)
    {
        var texts = new System.Collections.Concurrent.ConcurrentDictionary<long, string>();
        var failed = 0;
        await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = FetchParallelism }, async (item, ct) =>
        {
            try
            {
                await using var stream = await blobs.OpenReadAsync(item.Blob, ct);
                texts[item.Id] = await MessageParser.BodyTextAsync(stream, ct);
            }
            catch (Exception)
            {
                // Missing or corrupt blob, or MIME that breaks the parser: headers stay searchable,
                // and nothing may leave the queue waiting for an answer that never comes.
                Interlocked.Increment(ref failed);
                texts[item.Id] = "";
            }
        });
        return new BodiesRead(new Dictionary<long, string>(texts), failed);
    }

    private void OnBodiesRead(BodiesRead read)
    {
        _fetching = false;
        if (read.Failed > 0) _log.Warning("{0}: {1} message bodies could not be read for the search index; only their headers are indexed", _mailbox, read.Failed);
        for (var node = _toIndex.First; node is not null; node = node.Next)
        {
            if (node.Value.Text is null && read.Texts.TryGetValue(node.Value.Id, out var text)) node.Value = node.Value with { Text = text };
            else if (node.Value.Text is null && _state.BlobOf(node.Value.Id) is null) node.Value = node.Value with { Text = "" }; // deleted meanwhile
        }
        DrainIndexQueue();
    }

    // ---- segments ------------------------------------------------------------------------------

    private void LoadSegments()
    {
        if (_loading) return;
        if (_blobs is not { } blobs)
        {
            FailWaitingSearches("the search index is not available");
            return;
        }
        _loading = true;
        var refs = _search.Unloaded;
        var owner = _mailbox;
        Task.Run(async () =>
        {
            // Two at a time: decoding is CPU-bound and a big mailbox has a dozen or more segments.
            var loaded = new System.Collections.Concurrent.ConcurrentBag<(SearchSegmentRef, MessageIndex?, Exception?)>();
            await Parallel.ForEachAsync(refs, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (r, _) =>
            {
                try
                {
                    loaded.Add((r, await ReadSegmentAsync(blobs, owner, r), null));
                }
                catch (Exception e)
                {
                    loaded.Add((r, null, e));
                }
            });
            return new SegmentsLoaded(loaded.ToList());
        }).PipeTo(Self);
    }

    private static async Task<MessageIndex> ReadSegmentAsync(IBlobStore blobs, MailboxId owner, SearchSegmentRef segment)
    {
        await using var stream = await blobs.OpenReadAsync(segment.Blob);
        using var buffer = new MemoryStream((int)Math.Min(segment.Bytes + 512, int.MaxValue));
        await stream.CopyToAsync(buffer);
        return SearchSegmentFile.Read(owner, buffer.ToArray());
    }

    private void OnSegmentsLoaded(SegmentsLoaded loaded)
    {
        _loading = false;
        foreach (var (r, index, error) in loaded.Segments)
        {
            if (index is not null) _search.Loaded(r, index);
            // A segment merged away (and deleted) while it loaded is no loss: the next load takes the merged one.
            else if (_search.Unloaded.Contains(r))
            {
                _log.Error(error, "{0}: search index segment {1} could not be loaded", _mailbox, r.Blob);
                FailWaitingSearches("the search index could not be loaded");
                return;
            }
        }
        if (!_search.IsLoaded) LoadSegments(); // a merge replaced a segment meanwhile
        ReleaseWaitingSearches();
    }

    /// <summary>Writes the oldest unwritten segment, freezing memory first when it is due (or the mailbox is stopping).</summary>
    private void WriteSegments()
    {
        if (_blobs is not { } blobs || _writing is not null) return;
        var segment = _search.Segments.FirstOrDefault(s => s.Ref is null);
        if (segment is null && (_search.FlushDue || _stopping && _search.MessagesInMemory > 0)) segment = _search.Freeze();
        if (segment is null)
        {
            if (_stopping) Self.Tell(StopMailbox.Instance);
            return;
        }
        _writing = segment;
        var owner = _mailbox;
        Task.Run(async () =>
        {
            try
            {
                var bytes = SearchSegmentFile.Write(owner, segment.Index!);
                var stored = await blobs.PutAsync(new MemoryStream(bytes, writable: false));
                return new SegmentWritten(segment, new SearchSegmentRef(stored.Id, segment.MinId, segment.MaxId, segment.Count, bytes.Length), null);
            }
            catch (Exception e)
            {
                return new SegmentWritten(segment, null, e);
            }
        }).PipeTo(Self);
    }

    private void OnSegmentWritten(SegmentWritten written)
    {
        _writing = null;
        if (written.Ref is null)
        {
            _log.Warning(written.Error, "{0}: writing a search index segment failed; retrying in 30 s", _mailbox);
            // Stopping: go anyway (the next start re-reads those bodies); otherwise try again later.
            if (_stopping) Self.Tell(StopMailbox.Instance);
            else Timers.StartSingleTimer(nameof(RetryFlush), RetryFlush.Instance, TimeSpan.FromSeconds(30));
            return;
        }
        _search.Written(written.Segment, written.Ref);
        PersistSegmentList();
        UnloadIfIdle();
        WriteSegments();
        MergeSegments();
    }

    private void MergeSegments()
    {
        if (_blobs is not { } blobs || _merging is not null || _stopping) return;
        var run = _search.PlanMerge();
        if (run is null) return;
        _merging = run;
        var live = _state.LiveIdsBetween(run[0].MinId, run[^1].MaxId);
        var keepLoaded = run.All(s => s.Index is not null);
        var parts = run.Select(s => (s.Ref!, s.Index)).ToList();
        var owner = _mailbox;
        Task.Run(async () =>
        {
            try
            {
                var indexes = new List<MessageIndex>();
                foreach (var (r, index) in parts) indexes.Add(index ?? await ReadSegmentAsync(blobs, owner, r));
                var merged = MessageIndex.Merge(indexes, live.Contains);
                var bytes = SearchSegmentFile.Write(owner, merged);
                var stored = await blobs.PutAsync(new MemoryStream(bytes, writable: false));
                // The run's whole range: every id in it that is not in the result was deleted.
                var result = new SearchSegmentRef(stored.Id, run[0].MinId, run[^1].MaxId, merged.Count, bytes.Length);
                return new SegmentsMerged(run, result, keepLoaded ? merged : null, null);
            }
            catch (Exception e)
            {
                return new SegmentsMerged(run, null, null, e);
            }
        }).PipeTo(Self);
    }

    private void OnSegmentsMerged(SegmentsMerged merged)
    {
        _merging = null;
        if (merged.Ref is null)
        {
            _log.Warning(merged.Error, "{0}: merging search index segments failed; they stay as they are", _mailbox);
            _search.MergeFailed(merged.Run);
            return;
        }
        _search.Merged(merged.Run, merged.Ref, merged.Index);
        var replaced = merged.Run.Select(s => s.Ref!.Blob).Where(b => b != merged.Ref.Blob).ToList();
        PersistSegmentList(() => DeleteSegmentBlobs(replaced));
        UnloadIfIdle();
        MergeSegments();
    }

    /// <summary>
    /// A mailbox nobody searched lately keeps only recent mail's segment in memory: written
    /// segments are dropped and loaded again by the next search.
    /// </summary>
    private void UnloadIfIdle()
    {
        if (!_searchedRecently && _waitingSearches.Count == 0 && !_loading) _search.Unload();
    }

    /// <summary>
    /// Journals the written segments, so recovery finds them (and needs no message body for them);
    /// <paramref name="whenDurable"/> runs once the journal has the new list.
    /// </summary>
    private void PersistSegmentList(Action? whenDurable = null)
    {
        var e = new SearchSegmentsChanged(_search.WrittenRefs);
        _state.Apply(e);
        _pending++;
        _eventsSinceSnapshot++;
        PersistAsync(e, _ =>
        {
            _pending--;
            whenDurable?.Invoke();
        });
    }

    /// <summary>
    /// Deletes segments a merge replaced — only after the journal no longer names them, so a
    /// recovery never looks for one. A delete lost to a crash leaves garbage, never a hole.
    /// </summary>
    private void DeleteSegmentBlobs(IReadOnlyList<BlobId> replaced)
    {
        if (_blobs is not { } blobs || replaced.Count == 0) return;
        var log = _log;
        var mailbox = _mailbox;
        _ = Task.Run(async () =>
        {
            foreach (var blob in replaced)
            {
                try
                {
                    await blobs.DeleteAsync(blob);
                }
                catch (Exception e)
                {
                    log.Warning(e, "{0}: could not delete replaced search segment {1}", mailbox, blob);
                }
            }
        });
    }
}
