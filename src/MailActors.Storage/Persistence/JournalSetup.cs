using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using Microsoft.Data.Sqlite;

namespace MailActors.Storage.Persistence;

/// <summary>
/// Builds the Akka.Persistence.Sql configuration for the journal and snapshot store.
/// </summary>
public static class JournalSetup
{
    public const string SqliteProvider = ProviderName.SQLiteMS;
    public const string PostgresProvider = ProviderName.PostgreSQL15;

    public static Config ToHocon(JournalOptions options)
    {
        var provider = options.UsesPostgres ? PostgresProvider : SqliteProvider;
        var connection = options.UsesPostgres ? options.PostgresConnectionString! : SqliteConnectionString(options.SqlitePath);
        // SQLite has a single writer: more than one writer stream only adds lock retries.
        var parallelism = options.UsesPostgres ? 4 : 1;
        var hocon = $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  connection-string = {{Quote(connection)}}
                  provider-name = "{{provider}}"
                  auto-initialize = on
                  parallelism = {{parallelism}}
                  batch-size = {{options.BatchSize}}
                  buffer-size = {{options.BufferSize}}
                  replay-batch-size = 2000
                }
              }
              query.journal.sql {
                connection-string = {{Quote(connection)}}
                provider-name = "{{provider}}"
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  connection-string = {{Quote(connection)}}
                  provider-name = "{{provider}}"
                  auto-initialize = on
                }
              }
            }
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>
    /// Extra ActorSystem setup the journal needs, or null. For SQLite: switches the file to WAL
    /// (without it, concurrent persists time out under load) and yields after each connection
    /// opens — Microsoft.Data.Sqlite completes "async" calls synchronously, which stalls the
    /// plugin's batching stream so every event becomes its own fsync; one real await lets
    /// batches fill (~6x more events/s, still fsynced).
    /// </summary>
    public static Setup? CreateSetup(JournalOptions options)
    {
        if (options.UsesPostgres) return null;
        PrepareSqlite(options.SqlitePath);
        var data = new DataOptions()
            .UseConnectionString(SqliteProvider, SqliteConnectionString(options.SqlitePath))
            .UseAfterConnectionOpened(
                connection => ConfigureSqliteConnection(connection),
                async (connection, cancellationToken) =>
                {
                    await Task.Yield();
                    ConfigureSqliteConnection(connection);
                });
        return new DataOptionsSetup(data);
    }

    public static string SqliteConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path), Pooling = true, Cache = SqliteCacheMode.Private }.ToString();

    /// <summary>Creates the database file and puts it in WAL mode (persistent, once per file).</summary>
    public static void PrepareSqlite(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        using var connection = new SqliteConnection(SqliteConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        var mode = command.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"SQLite refused WAL mode for {path} (got '{mode}')");
    }

    /// <summary>Opens a connection to the journal database and runs a trivial query (readiness probes).</summary>
    public static async Task PingAsync(JournalOptions options, CancellationToken ct)
    {
        await using System.Data.Common.DbConnection connection = options.UsesPostgres
            ? new Npgsql.NpgsqlConnection(options.PostgresConnectionString)
            : new SqliteConnection(SqliteConnectionString(options.SqlitePath));
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await command.ExecuteScalarAsync(ct);
    }

    private static void ConfigureSqliteConnection(System.Data.Common.DbConnection connection)
    {
        using var command = connection.CreateCommand();
        // FULL: fsync on every commit, so an acknowledged delivery survives power loss.
        command.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
        command.ExecuteNonQuery();
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
