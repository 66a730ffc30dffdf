namespace MailActors.Mime;

/// <summary>
/// Least-recently-used cache of rendered messages bounded by their approximate size in bytes.
/// Concurrent requests for a key that is being rendered share one render; a render that fails
/// is not kept, so the next request tries again.
/// </summary>
internal sealed class RenderCache(long capacityBytes)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new(); // most recently used first
    private readonly Dictionary<string, Task<RenderedMessage>> _inFlight = new(StringComparer.Ordinal);
    private long _bytes;

    public long Bytes
    {
        get { lock (_lock) return _bytes; }
    }

    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    /// <param name="render">Runs without the caller's token: other callers may be waiting on it.</param>
    public Task<RenderedMessage> GetOrAddAsync(string key, Func<Task<RenderedMessage>> render, CancellationToken ct)
    {
        Task<RenderedMessage> task;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                return Task.FromResult(node.Value.Message);
            }

            if (!_inFlight.TryGetValue(key, out var running))
            {
                running = RenderAndStoreAsync(key, render);
                _inFlight[key] = running; // its removal waits for this lock, so it cannot come first
            }
            task = running;
        }
        return task.WaitAsync(ct);
    }

    private async Task<RenderedMessage> RenderAndStoreAsync(string key, Func<Task<RenderedMessage>> render)
    {
        await Task.Yield(); // render outside the caller's lock
        try
        {
            var message = await render().ConfigureAwait(false);
            lock (_lock) Store(key, message);
            return message;
        }
        finally
        {
            lock (_lock) _inFlight.Remove(key);
        }
    }

    private void Store(string key, RenderedMessage message)
    {
        if (message.ApproximateBytes > capacityBytes || _entries.ContainsKey(key)) return;
        _entries[key] = _recency.AddFirst(new Entry(key, message));
        _bytes += message.ApproximateBytes;
        while (_bytes > capacityBytes && _recency.Last is { } oldest)
        {
            _recency.RemoveLast();
            _entries.Remove(oldest.Value.Key);
            _bytes -= oldest.Value.Message.ApproximateBytes;
        }
    }

    private sealed record Entry(string Key, RenderedMessage Message);
}
