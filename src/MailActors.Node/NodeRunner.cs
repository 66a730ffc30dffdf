using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using MailActors.Cluster;
using MailActors.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailActors.Node;

/// <summary>Runs a node until Ctrl+C / SIGTERM, built on the same AddMailActors API an embedding host uses.</summary>
public static class NodeRunner
{
    public static async Task<int> RunAsync(NodeSettings settings)
    {
        using var nodeLock = NodeLock.TryAcquire(settings.DataDirectory);
        if (nodeLock is null)
        {
            Console.Error.WriteLine($"error: another node is running on {settings.DataDirectory}");
            return 1;
        }
        var options = settings.ToOptions();
        await using var host = NodeHost.BuildServer(options, settings.Gateway, settings.Hostname, services: s => s.AddSmtpIngress(settings.Smtp));
        await host.StartAsync();
        var http = host.Urls.Select(u => u.Replace("0.0.0.0", settings.Hostname)).ToList();

        var system = host.Services.GetRequiredService<ActorSystem>();
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        nodeLock.PublishAddress($"{self.Host}:{self.Port}");
        Console.WriteLine($"""
            MailActors node is up
              cluster     {self} (roles: {MailActorsOptions.MailboxRole}; seeds: {(settings.SeedNodes.Count == 0 ? "none, formed its own cluster" : string.Join(", ", settings.SeedNodes))})
              domains     {string.Join(", ", settings.Domains)}
              data        {settings.DataDirectory}
              journal     {options.EffectiveJournal.Describe()}
              blobs       {Path.GetFullPath(options.BlobDirectory)}
              smtp        {host.Services.GetRequiredService<SmtpServer>().Endpoint} (MX for {string.Join(", ", settings.Domains)}; STARTTLS, max {settings.Smtp.MaxMessageSize / 1048576} MB)
              http        {string.Join(", ", http)} (API /v1, docs /docs, OpenAPI /openapi/v1.json, /health/ready, /metrics; sign-up {(settings.Gateway.SignupEnabled ? "open" : "closed")})
              reserved    submission {settings.SubmissionPort}, imap {settings.ImapPort}, pop3 {settings.Pop3Port} (their servers are not in this build yet)
              admin       dotnet run --project src/MailActors.Node -- user add alice@{settings.Domains[0]} --password '...' --data-dir {settings.DataDirectory}
            Press Ctrl+C to stop.
            """);
        await host.WaitForShutdownAsync();
        return 0;
    }
}
