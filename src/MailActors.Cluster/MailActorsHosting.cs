using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Remote.Hosting;
using MailActors.Cluster.Mailboxes;
using MailActors.Cluster.Outbound;
using MailActors.Cluster.Serialization;
using MailActors.Core;
using MailActors.Storage.Blobs;
using MailActors.Storage.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MailActors.Cluster;

/// <summary>Key under which the mailbox shard region (or proxy) is registered.</summary>
public sealed class MailboxRegion;

public static class MailActorsHosting
{
    /// <summary>
    /// Adds a MailActors node to a .NET host: the actor system (remoting, cluster, mailbox
    /// sharding, journal), the blob store and the <see cref="MailboxClient"/> facade.
    /// </summary>
    public static IServiceCollection AddMailActors(
        this IServiceCollection services,
        MailActorsOptions options,
        Action<AkkaConfigurationBuilder, IServiceProvider>? configure = null)
    {
        Directory.CreateDirectory(options.DataDirectory);
        services.AddSingleton(options);
        services.AddSingleton<IBlobStore>(_ => new FileBlobStore(options.BlobDirectory));
        services.AddSingleton<MailboxClient>(sp => new MailboxClient(sp.GetRequiredService<IRequiredActor<MailboxRegion>>(), options));
        services.AddSingleton<OutboundClient>(sp => new OutboundClient(sp.GetRequiredService<IRequiredActor<OutboundRegion>>(), options));
        // Edges replace these: the SMTP egress (MX lookup + delivery) and the DSN writer.
        services.TryAddSingleton<IOutboundTransport, UnconfiguredOutboundTransport>();
        services.TryAddSingleton<IBounceSender, MailboxBounceSender>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new Mime.Dkim.DkimKeyStore(Path.Combine(options.DataDirectory, "dkim"), options.DkimKeyFiles));
        services.AddSingleton<MailSender>();
        services.AddAkka(options.ActorSystemName, (builder, sp) =>
        {
            builder.AddMailActors(options);
            configure?.Invoke(builder, sp);
        });
        return services;
    }

    /// <summary>The Akka.Hosting half of <see cref="AddMailActors(IServiceCollection, MailActorsOptions, Action{AkkaConfigurationBuilder, IServiceProvider}?)"/>.</summary>
    public static AkkaConfigurationBuilder AddMailActors(this AkkaConfigurationBuilder builder, MailActorsOptions options)
    {
        var journal = options.EffectiveJournal;
        builder
            .AddHocon(MailSerializer.Hocon, HoconAddMode.Prepend)
            .AddHocon(BaseHocon, HoconAddMode.Prepend)
            .AddHocon(JournalSetup.ToHocon(journal), HoconAddMode.Append)
            .WithRemoting(new RemoteOptions { HostName = options.ClusterHostname, Port = options.ClusterPort })
            .WithClustering(new ClusterOptions
            {
                Roles = options.HostMailboxes ? [MailActorsOptions.MailboxRole] : [],
                SeedNodes = options.SeedNodes.Select(s => SeedAddress(options.ActorSystemName, s)).ToArray(),
            });
        if (JournalSetup.CreateSetup(journal) is { } setup) builder.AddSetup(setup);
        // Mailbox changes fan out to realtime edges (WebSocket, long-poll, IMAP IDLE) on any node.
        builder.WithDistributedPubSub(role: "");

        var extractor = new MailboxMessageExtractor(options.ShardCount);
        if (options.HostMailboxes)
        {
            builder.WithShardRegion<MailboxRegion>(
                MailActorsOptions.MailboxTypeName,
                (_, _, resolver) => entityId => MailboxActor.Props(MailboxId.FromNormalized(entityId), options.Mailbox, resolver.GetService<IBlobStore>()),
                extractor,
                new ShardOptions
                {
                    Role = MailActorsOptions.MailboxRole,
                    StateStoreMode = StateStoreMode.DData,
                    RememberEntities = false,
                    HandOffStopMessage = StopMailbox.Instance,
                });
        }
        else
        {
            builder.WithShardRegionProxy<MailboxRegion>(MailActorsOptions.MailboxTypeName, MailActorsOptions.MailboxRole, extractor);
        }

        var outbound = new OutboundMessageExtractor(options.ShardCount);
        if (options.HostMailboxes && options.HostOutbound)
        {
            builder.WithShardRegion<OutboundRegion>(
                MailActorsOptions.OutboundTypeName,
                (_, _, resolver) => domain => OutboundQueueActor.Props(domain, options.Outbound,
                    resolver.GetService<IOutboundTransport>(), resolver.GetService<IBounceSender>()),
                outbound,
                new ShardOptions
                {
                    Role = MailActorsOptions.MailboxRole,
                    StateStoreMode = StateStoreMode.DData,
                    // Queues with mail restart with the cluster; an empty one passivates and is forgotten.
                    RememberEntities = true,
                    RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
                    HandOffStopMessage = OutboundQueueActor.Stop.Instance,
                });
        }
        else
        {
            builder.WithShardRegionProxy<OutboundRegion>(MailActorsOptions.OutboundTypeName, MailActorsOptions.MailboxRole, outbound);
        }

        if (options.SeedNodes.Count == 0)
        {
            // No seeds: this node is the cluster.
            builder.AddStartup((system, _) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        }
        return builder;
    }

    public static string SeedAddress(string systemName, string hostPort)
    {
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new FormatException($"a seed node is host:port, not '{hostPort}'");
        return $"akka.tcp://{systemName}@{hostPort[..colon]}:{port}";
    }

    private const string BaseHocon = """
        akka {
          actor.serialization-settings.allow-unregistered-types = false
          cluster {
            sharding {
              state-store-mode = ddata
              remember-entities = off
              # Mailboxes passivate themselves (ReceiveTimeout), after their writes have finished.
              passivate-idle-entity-after = off
            }
            # A node that loses the cluster is downed by the split-brain resolver, not left dangling.
            downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            split-brain-resolver.active-strategy = keep-majority
          }
          coordinated-shutdown.exit-clr = off
          # The host drives shutdown (Akka.Hosting runs CoordinatedShutdown in StopAsync). Akka's
          # own SIGTERM hook racing it left the host waiting its whole 30 s shutdown timeout.
          coordinated-shutdown.run-by-clr-shutdown-hook = off
          loglevel = INFO
        }
        """;
}
