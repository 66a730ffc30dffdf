namespace MailActors.Cluster.Mailboxes;

/// <summary>Tuning of every mailbox actor.</summary>
public sealed record MailboxSettings
{
    /// <summary>Snapshot after this many events (or after MessageCount/20 events for large mailboxes, whichever is more).</summary>
    public int SnapshotEvery { get; init; } = 1000;

    /// <summary>An idle mailbox leaves memory after this long; it is recovered on the next command.</summary>
    public TimeSpan PassivateAfter { get; init; } = TimeSpan.FromMinutes(2);

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
