namespace MailActors.Core.Outbound;

/// <summary>When to try again: exponential backoff from <see cref="First"/>, capped, given up after <see cref="GiveUpAfter"/>.</summary>
public sealed record RetryPolicy
{
    public TimeSpan First { get; init; } = TimeSpan.FromMinutes(1);
    public double Factor { get; init; } = 2;
    public TimeSpan Max { get; init; } = TimeSpan.FromHours(1);
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromDays(5);

    public TimeSpan Delay(int attempts) =>
        TimeSpan.FromTicks((long)Math.Min(Max.Ticks, First.Ticks * Math.Pow(Factor, Math.Max(0, attempts - 1))));
}

/// <summary>
/// The outbound queue of one destination domain, as pure rules (the actor persists and applies).
/// Every recipient ends delivered or reported to the sender: permanent failures and expiry
/// leave an entry's pending set only together with a bounce obligation, which is cleared by
/// <see cref="OutboundBounced"/> once the DSN is in the sender's Inbox.
/// </summary>
public sealed class OutboundQueueState
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public sealed class Entry(OutboundMessage message)
    {
        public OutboundMessage Message { get; } = message;
        public HashSet<string> Pending { get; } = new(message.Recipients, StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, RecipientAttempt> ToBounce { get; } = new(StringComparer.OrdinalIgnoreCase);
        public int Attempts { get; set; }
        public DateTimeOffset NextAttemptAt { get; set; } = message.QueuedAt;
        public string? LastReply { get; set; }
        public bool Finished => Pending.Count == 0 && ToBounce.Count == 0;
    }

    public int Count => _entries.Count;
    public IEnumerable<Entry> Entries => _entries.Values;
    public Entry? Find(string queueId) => _entries.GetValueOrDefault(queueId);

    public IEnumerable<Entry> Due(DateTimeOffset now) => _entries.Values.Where(e => e.Pending.Count > 0 && e.NextAttemptAt <= now);

    public IEnumerable<Entry> AwaitingBounce => _entries.Values.Where(e => e.ToBounce.Count > 0);

    /// <summary>The earliest time something pending is due (null when nothing is pending).</summary>
    public DateTimeOffset? NextDue => _entries.Values.Where(e => e.Pending.Count > 0).Select(e => (DateTimeOffset?)e.NextAttemptAt).Min();

    // ---- decide ---------------------------------------------------------------------------

    public IOutboundEvent? DecideEnqueue(EnqueueOutbound c) =>
        _entries.ContainsKey(c.Message.QueueId) || c.Message.Recipients.Count == 0 ? null : new OutboundQueued(c.Message);

    /// <summary>
    /// Turns a transport's results into the attempt event: recipients it did not report stay
    /// temporary failures, and once the message has expired every temporary failure becomes
    /// permanent, carrying the last reply.
    /// </summary>
    public OutboundAttempted? DecideAttempt(string queueId, IReadOnlyList<RecipientAttempt> results, DateTimeOffset at, RetryPolicy policy)
    {
        if (!_entries.TryGetValue(queueId, out var entry) || entry.Pending.Count == 0) return null;
        var byRecipient = results.GroupBy(r => r.Recipient, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Last(), StringComparer.OrdinalIgnoreCase);
        var next = at + policy.Delay(entry.Attempts + 1);
        var expired = next >= entry.Message.ExpiresAt; // no attempt left before the give-up time
        var outcome = new List<RecipientAttempt>(entry.Pending.Count);
        foreach (var recipient in entry.Pending.Order(StringComparer.OrdinalIgnoreCase))
        {
            var r = byRecipient.GetValueOrDefault(recipient) ?? new RecipientAttempt(recipient, AttemptOutcome.TemporaryFailure, "no answer for this recipient");
            if (r.Outcome == AttemptOutcome.TemporaryFailure && expired)
                r = r with { Outcome = AttemptOutcome.PermanentFailure, Reply = $"gave up after {(at - entry.Message.QueuedAt).TotalHours:0} h; last reply: {r.Reply}" };
            outcome.Add(r with { Recipient = recipient });
        }
        return new OutboundAttempted(queueId, at, outcome, next);
    }

    public OutboundRescheduled? DecideRetry(string queueId, DateTimeOffset now) =>
        _entries.TryGetValue(queueId, out var e) && e.Pending.Count > 0 && e.NextAttemptAt > now ? new OutboundRescheduled(queueId, now) : null;

    // ---- apply ----------------------------------------------------------------------------

    public void Apply(IOutboundEvent @event)
    {
        switch (@event)
        {
            case OutboundQueued e:
                _entries[e.Message.QueueId] = new Entry(e.Message);
                break;
            case OutboundAttempted e when _entries.TryGetValue(e.QueueId, out var entry):
                entry.Attempts++;
                entry.NextAttemptAt = e.NextAttemptAt;
                foreach (var r in e.Results)
                {
                    entry.LastReply = r.Reply;
                    if (r.Outcome == AttemptOutcome.TemporaryFailure) continue;
                    entry.Pending.Remove(r.Recipient);
                    if (r.Outcome == AttemptOutcome.PermanentFailure) entry.ToBounce[r.Recipient] = r;
                }
                if (entry.Finished) _entries.Remove(e.QueueId);
                break;
            case OutboundBounced e when _entries.TryGetValue(e.QueueId, out var entry):
                foreach (var r in e.Recipients) entry.ToBounce.Remove(r);
                if (entry.Finished) _entries.Remove(e.QueueId);
                break;
            case OutboundRescheduled e when _entries.TryGetValue(e.QueueId, out var entry):
                entry.NextAttemptAt = e.At;
                break;
            case OutboundRemoved e:
                _entries.Remove(e.QueueId);
                break;
        }
    }

    public OutboundSnapshot ToSnapshot() => new(_entries.Values.Select(e => new OutboundSnapshotEntry(
        e.Message, e.Pending.ToList(), e.ToBounce.Values.ToList(), e.Attempts, e.NextAttemptAt, e.LastReply)).ToList());

    public static OutboundQueueState FromSnapshot(OutboundSnapshot snapshot)
    {
        var state = new OutboundQueueState();
        foreach (var s in snapshot.Entries)
        {
            var entry = new Entry(s.Message) { Attempts = s.Attempts, NextAttemptAt = s.NextAttemptAt, LastReply = s.LastReply };
            entry.Pending.Clear();
            entry.Pending.UnionWith(s.Pending);
            foreach (var b in s.ToBounce) entry.ToBounce[b.Recipient] = b;
            state._entries[s.Message.QueueId] = entry;
        }
        return state;
    }

    public OutboundEntryInfo Info(Entry e) =>
        new(e.Message.QueueId, e.Message.Sender, e.Pending.Order(StringComparer.OrdinalIgnoreCase).ToList(), e.Attempts, e.Message.QueuedAt, e.NextAttemptAt, e.LastReply);
}

/// <summary>The queue's state for a snapshot: busy domains would otherwise replay their whole history.</summary>
public sealed record OutboundSnapshot(IReadOnlyList<OutboundSnapshotEntry> Entries) : IMailProtocol;

public sealed record OutboundSnapshotEntry(
    OutboundMessage Message,
    IReadOnlyList<string> Pending,
    IReadOnlyList<RecipientAttempt> ToBounce,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastReply);
