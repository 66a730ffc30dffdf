using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using MailActors.Cluster.Serialization;
using MailActors.Storage.Persistence;
using Microsoft.Data.Sqlite;

namespace MailActors.Cluster.Tests.Infrastructure;

/// <summary>An ActorSystem setup with the real SQLite journal in a temp file (one file per test).</summary>
public static class SqliteJournal
{
    public static ActorSystemSetup Setup(string dbPath)
    {
        var options = new JournalOptions { SqlitePath = dbPath };
        var config = ConfigurationFactory.ParseString(MailSerializer.Hocon)
            .WithFallback(JournalSetup.ToHocon(options));
        return BootstrapSetup.Create().WithConfig(config).And(JournalSetup.CreateSetup(options)!);
    }

    /// <summary>Rows of one persistence id (sharding's own bookkeeping lives in the same table), or all rows.</summary>
    public static long CountRows(string dbPath, string table, string? persistenceId = null)
    {
        using var connection = new SqliteConnection($"Data Source={dbPath}");
        connection.Open();
        using var exists = connection.CreateCommand();
        exists.CommandText = $"SELECT count(*) FROM sqlite_master WHERE type='table' AND name='{table}'";
        if ((long)exists.ExecuteScalar()! == 0) return 0;
        using var command = connection.CreateCommand();
        command.CommandText = persistenceId is null ? $"SELECT count(*) FROM {table}" : $"SELECT count(*) FROM {table} WHERE persistence_id = $id";
        if (persistenceId is not null) command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }
}
