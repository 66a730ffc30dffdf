using MailActors.Cluster.Tests.Infrastructure;
using MailActors.Core;
using MailActors.Storage.Persistence;
using Npgsql;
using Xunit;
using static MailActors.Cluster.Tests.Samples;

namespace MailActors.Cluster.Tests;

/// <summary>The journal and snapshot store on a real PostgreSQL that the fixture starts.</summary>
public sealed class PostgresJournalTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Lazy<PostgresServer> _postgres = new(() => new PostgresServer());

    [PostgresFact]
    public async Task Mailboxes_persist_and_recover_from_postgres_with_snapshots()
    {
        var connection = _postgres.Value.CreateDatabase();
        var options = TestNode.OptionsFor(_dir.Path, new JournalOptions { PostgresConnectionString = connection }, snapshotEvery: 10);
        string before;
        await using (var node = await TestNode.StartAsync(options))
        {
            await node.Client.RegisterAsync("alice@localhost", "correct horse battery");
            await Task.WhenAll(Enumerable.Range(0, 25).Select(i => node.Client.DeliverAsync("alice@localhost", $"d{i}", Meta($"m{i}"))));
            await node.Client.MarkReadAsync("alice@localhost", [1, 2]);
            before = await EmbeddingTests.Render(node.Client);
        }

        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var events = new NpgsqlCommand("SELECT count(*) FROM journal WHERE persistence_id = 'mailbox-alice@localhost'", db);
            // 25 deliveries, registration, flags, and the search segment list written when the node stopped.
            Assert.Equal(28L, (long)(await events.ExecuteScalarAsync())!);
            await using var snapshots = new NpgsqlCommand("SELECT count(*) FROM snapshot", db);
            // Older snapshots are deleted asynchronously after a newer one is saved, so 1 or 2 remain.
            Assert.InRange((long)(await snapshots.ExecuteScalarAsync())!, 1L, 2L);
        }

        await using (var node = await TestNode.StartAsync(options))
        {
            Assert.Equal(before, await EmbeddingTests.Render(node.Client));
            Assert.Equal(["alice@localhost"], (await MailboxDirectory.ListAsync(node.System)).Select(m => m.Value));
        }
    }

    public void Dispose()
    {
        if (_postgres.IsValueCreated) _postgres.Value.Dispose();
        _dir.Dispose();
    }
}
