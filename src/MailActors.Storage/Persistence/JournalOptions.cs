namespace MailActors.Storage.Persistence;

/// <summary>Where mailbox journals and snapshots live: an embedded SQLite file, or PostgreSQL for clusters.</summary>
public sealed record JournalOptions
{
    /// <summary>SQLite database file used when no PostgreSQL connection string is set.</summary>
    public string SqlitePath { get; init; } = "mailactors.db";

    /// <summary>Npgsql connection string; when set, PostgreSQL holds the journal and snapshots.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>Events per journal write transaction (one fsync).</summary>
    public int BatchSize { get; init; } = 400;

    /// <summary>Pending writes the journal queues before refusing; must exceed the number of mailboxes writing at once.</summary>
    public int BufferSize { get; init; } = 50_000;

    public bool UsesPostgres => !string.IsNullOrWhiteSpace(PostgresConnectionString);

    public string Describe() => UsesPostgres
        ? $"PostgreSQL ({RedactedPostgres()})"
        : $"SQLite {Path.GetFullPath(SqlitePath)}";

    private string RedactedPostgres()
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString) { Password = null };
        return builder.ConnectionString;
    }
}
