using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using MailActors.Cluster.Tests.Infrastructure;
using MailActors.Core;
using Xunit;
using static MailActors.Cluster.Tests.Samples;

namespace MailActors.Cluster.Tests;

/// <summary>MailActors hosted in a plain generic host through AddMailActors, used through MailboxClient.</summary>
public sealed class EmbeddingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task A_backend_host_registers_delivers_lists_and_changes_mail()
    {
        await using var node = await TestNode.StartAsync(TestNode.OptionsFor(_dir.Path));
        var client = node.Client;
        var account = await client.RegisterAsync("Alice@LocalHost", "correct horse battery", "Alice");
        Assert.Equal("alice@localhost", account.Mailbox.Value);
        Assert.NotNull(await client.AuthenticateAsync("alice@localhost", "correct horse battery"));
        Assert.Null(await client.AuthenticateAsync("alice@localhost", "wrong password!!"));

        var first = await client.DeliverAsync("alice@localhost", "d1", Meta("one"));
        var second = await client.DeliverAsync("alice@localhost", "d2", Meta("two"));
        var page = await client.ListMessagesAsync("alice@localhost", SystemFolders.Inbox, limit: 1);
        Assert.Equal(second.MessageId, Assert.Single(page.Items).Id);
        page = await client.ListMessagesAsync("alice@localhost", SystemFolders.Inbox, limit: 1, cursor: page.NextCursor);
        Assert.Equal(first.MessageId, Assert.Single(page.Items).Id);

        await client.MarkReadAsync("alice@localhost", [first.MessageId]);
        await client.FlagAsync("alice@localhost", [second.MessageId]);
        var unread = await client.ListMessagesAsync("alice@localhost", SystemFolders.Inbox, MessageStatusFilter.Unread);
        Assert.Equal([second.MessageId], unread.Items.Select(m => m.Id));

        var work = await client.CreateFolderAsync("alice@localhost", "Work");
        await client.MoveAsync("alice@localhost", [second.MessageId], work.Id);
        Assert.Equal(work.Id, (await client.GetMessageAsync("alice@localhost", second.MessageId)).FolderId);
        await client.DeleteAsync("alice@localhost", [first.MessageId]);
        var folders = await client.ListFoldersAsync("alice@localhost");
        Assert.Equal(1, folders.Single(f => f.Id == SystemFolders.Trash).Total);
        Assert.Equal(0, folders.Single(f => f.Id == SystemFolders.Inbox).Total);

        var error = await Assert.ThrowsAsync<MailboxException>(() => client.GetMessageAsync("alice@localhost", 999));
        Assert.Equal(MailboxErrorCode.NotFound, error.Code);
        var weak = await Assert.ThrowsAsync<MailboxException>(() => client.RegisterAsync("bob@localhost", "short"));
        Assert.Equal(MailboxErrorCode.Invalid, weak.Code);
    }

    [Fact]
    public async Task An_unknown_mailbox_leaves_no_journal_rows_and_no_entity()
    {
        await using var node = await TestNode.StartAsync(TestNode.OptionsFor(_dir.Path));
        Assert.False(await node.Client.ExistsAsync("ghost@localhost"));
        var error = await Assert.ThrowsAsync<MailboxException>(() => node.Client.DeliverAsync("ghost@localhost", "d1", Meta()));
        Assert.Equal(MailboxErrorCode.NoSuchMailbox, error.Code);

        var region = await node.Services.GetRequiredService<IRequiredActor<MailboxRegion>>().GetAsync();
        await AwaitAsync(async () =>
        {
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance);
            return !state.Shards.SelectMany(s => s.EntityIds).Contains("ghost@localhost");
        });
        Assert.Equal(0, SqliteJournal.CountRows(node.Options.EffectiveJournal.SqlitePath, "journal", Mailboxes.MailboxActor.PersistenceIdFor(MailboxId.Parse("ghost@localhost"))));
        Assert.Empty(await MailboxDirectory.ListAsync(node.System));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task State_survives_a_restart_with_and_without_a_snapshot(bool snapshot)
    {
        // snapshotEvery 20 with 45 writes = a snapshot plus later events; 1000 = events only.
        var options = TestNode.OptionsFor(_dir.Path, snapshotEvery: snapshot ? 20 : 1000);
        string before;
        await using (var node = await TestNode.StartAsync(options))
        {
            await node.Client.RegisterAsync("alice@localhost", "correct horse battery");
            var work = await node.Client.CreateFolderAsync("alice@localhost", "Work");
            for (var i = 0; i < 40; i++)
                await node.Client.DeliverAsync("alice@localhost", $"d{i}", Meta($"m{i}"), i % 3 == 0 ? work.Id : null);
            await node.Client.MarkReadAsync("alice@localhost", [1, 2, 3]);
            await node.Client.DeleteAsync("alice@localhost", [4, 5]);
            await node.Client.RenameFolderAsync("alice@localhost", work.Id, "Jobs");
            before = await Render(node.Client);
        }
        var snapshots = SqliteJournal.CountRows(options.EffectiveJournal.SqlitePath, "snapshot");
        if (snapshot) Assert.InRange(snapshots, 1, 2); // the older one is deleted asynchronously
        else Assert.Equal(0, snapshots);

        await using (var node = await TestNode.StartAsync(options))
        {
            Assert.Equal(before, await Render(node.Client));
            // Retrying an old delivery after the restart still doesn't duplicate it.
            Assert.True((await node.Client.DeliverAsync("alice@localhost", "d7", Meta("m7"))).Duplicate);
        }
    }

    [Fact]
    public async Task Paging_under_concurrent_delivery_has_no_duplicates_or_gaps()
    {
        await using var node = await TestNode.StartAsync(TestNode.OptionsFor(_dir.Path));
        var client = node.Client;
        await client.RegisterAsync("alice@localhost", "correct horse battery");
        var existing = new List<long>();
        for (var i = 0; i < 60; i++) existing.Add((await client.DeliverAsync("alice@localhost", $"old{i}", Meta())).MessageId);

        var arrivals = Task.WhenAll(Enumerable.Range(0, 60).Select(i => client.DeliverAsync("alice@localhost", $"new{i}", Meta())));
        var seen = new List<long>();
        string? cursor = null;
        do
        {
            var page = await client.ListMessagesAsync("alice@localhost", SystemFolders.Inbox, limit: 7, cursor: cursor);
            seen.AddRange(page.Items.Select(m => m.Id));
            cursor = page.NextCursor;
        } while (cursor is not null);
        await arrivals;

        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(seen.OrderDescending(), seen);
        Assert.Subset(seen.ToHashSet(), existing.ToHashSet());
    }

    internal static async Task<string> Render(MailboxClient client)
    {
        var lines = new List<string>();
        foreach (var f in await client.ListFoldersAsync("alice@localhost"))
        {
            lines.Add(f.ToString());
            string? cursor = null;
            do
            {
                var page = await client.ListMessagesAsync("alice@localhost", f.Id, limit: 200, cursor: cursor);
                lines.AddRange(page.Items.Select(m => $"{m with { Metadata = null! }} {System.Text.Json.JsonSerializer.Serialize(m.Metadata)}"));
                cursor = page.NextCursor;
            } while (cursor is not null);
        }
        return string.Join('\n', lines);
    }

    internal static async Task AwaitAsync(Func<Task<bool>> condition, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(100);
        }
    }

    public void Dispose() => _dir.Dispose();
}
