using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using MailActors.Cluster.Tests.Infrastructure;
using MailActors.Core;
using MailActors.Storage.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static MailActors.Cluster.Tests.Samples;

namespace MailActors.Cluster.Tests;

/// <summary>Two nodes in one process forming a real cluster over Akka remoting on loopback.</summary>
public sealed class ClusterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task Commands_sent_on_one_node_reach_mailboxes_hosted_on_the_other()
    {
        // Both nodes share one journal, as a PostgreSQL-backed cluster would; SQLite WAL allows it here.
        var journal = new JournalOptions { SqlitePath = _dir.File("shared.db") };
        var portA = RequiredServices.FreePort();
        var optionsA = TestNode.OptionsFor(_dir.File("a"), journal) with { ClusterPort = portA };
        var optionsB = TestNode.OptionsFor(_dir.File("b"), journal) with { SeedNodes = [$"127.0.0.1:{portA}"] };
        await using var a = await TestNode.StartAsync(optionsA);
        await using var b = await TestNode.StartAsync(optionsB);
        await EmbeddingTests.AwaitAsync(() => Task.FromResult(Akka.Cluster.Cluster.Get(a.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) == 2));

        // Shards are placed on the regions the coordinator knows when they are first used: wait for both.
        var regionA = await a.Services.GetRequiredService<IRequiredActor<MailboxRegion>>().GetAsync();
        await EmbeddingTests.AwaitAsync(async () =>
        {
            var stats = await regionA.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(5));
            return stats.Regions.Count == 2;
        }, seconds: 30);

        var users = Enumerable.Range(0, 16).Select(i => $"user{i}@localhost").ToList();
        var hash = PasswordHasher.Hash("correct horse battery", PasswordHasher.MinIterations);
        foreach (var user in users)
        {
            Assert.IsType<Done>(await a.Client.SendAsync(new RegisterMailbox(MailboxId.Parse(user), hash, user, 1 << 30)));
            await a.Client.DeliverAsync(user, "d1", Meta($"for {user}"));
        }

        // Which mailboxes live on B? Every command for them crossed the wire from A (serializer included).
        var regionB = await b.Services.GetRequiredService<IRequiredActor<MailboxRegion>>().GetAsync();
        var state = await regionB.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        var onB = state.Shards.SelectMany(s => s.EntityIds).ToHashSet();
        Assert.NotEmpty(onB);
        Assert.True(onB.Count < users.Count, "some mailboxes should stay on A");

        foreach (var user in users)
        {
            var page = await a.Client.ListMessagesAsync(user, SystemFolders.Inbox);
            Assert.Equal($"for {user}", Assert.Single(page.Items).Metadata.Subject);
            Assert.Equal(1, (await b.Client.GetAccountAsync(user)).MessageCount);
        }
    }

    public void Dispose() => _dir.Dispose();
}
