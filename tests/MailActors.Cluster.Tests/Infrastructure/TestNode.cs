using Akka.Actor;
using Akka.Hosting;
using MailActors.Storage.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Cluster.Tests.Infrastructure;

/// <summary>A MailActors node in a plain generic host, exactly as an embedding backend would run it.</summary>
public sealed class TestNode : IAsyncDisposable
{
    private readonly IHost _host;

    private TestNode(IHost host, MailActorsOptions options)
    {
        _host = host;
        Options = options;
    }

    public MailActorsOptions Options { get; }
    public MailboxClient Client => _host.Services.GetRequiredService<MailboxClient>();
    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();
    public IServiceProvider Services => _host.Services;

    public static MailActorsOptions OptionsFor(string dataDirectory, JournalOptions? journal = null, int snapshotEvery = 1000) => new()
    {
        ActorSystemName = "mailactors",
        DataDirectory = dataDirectory,
        Journal = journal,
        PasswordIterations = Core.PasswordHasher.MinIterations,
        AskTimeout = TimeSpan.FromSeconds(20),
        Mailbox = new Mailboxes.MailboxSettings { SnapshotEvery = snapshotEvery },
    };

    public static async Task<TestNode> StartAsync(MailActorsOptions options, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        builder.Services.AddMailActors(options);
        var host = builder.Build();
        await host.StartAsync();
        var node = new TestNode(host, options);
        await node.WaitUntilUpAsync();
        return node;
    }

    public async Task WaitUntilUpAsync()
    {
        var cluster = Akka.Cluster.Cluster.Get(System);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (cluster.SelfMember.Status != Akka.Cluster.MemberStatus.Up)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("cluster member never came up");
            var up = new TaskCompletionSource();
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            await Task.WhenAny(up.Task, Task.Delay(TimeSpan.FromSeconds(1)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
