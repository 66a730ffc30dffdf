namespace MailActors.Cluster.Mailboxes;

/// <summary>Tuning of every mailbox actor.</summary>
public sealed record MailboxSettings
{
    /// <summary>Snapshot after this many events (or, for large mailboxes, every MessageCount/50 events, so recovery replays at most 2% of the mailbox while a snapshot stays cheap relative to the events between two of them).</summary>
    public int SnapshotEvery { get; init; } = 1000;

    /// <summary>An idle mailbox leaves memory after this long; it is recovered on the next command.</summary>
    public TimeSpan PassivateAfter { get; init; } = TimeSpan.FromMinutes(2);

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Recent mail's in-memory search segment is written to the blob store once it holds this many messages.</summary>
    public int SearchFlushAt { get; init; } = Core.Search.MailboxSearchIndex.DefaultFlushAtMessages;

    /// <summary>Loaded search segments leave memory after this long without a search (recent mail's segment stays).</summary>
    public TimeSpan SearchUnloadAfter { get; init; } = TimeSpan.FromMinutes(5);
}
