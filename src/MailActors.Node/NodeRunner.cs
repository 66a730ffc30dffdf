using Akka.Actor;
using MailActors.Smtp.Outbound;
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
        await using var host = NodeHost.BuildServer(options, settings.Gateway, settings.Hostname, services: s =>
        {
            s.AddSmtpIngress(settings.Smtp);
            s.AddSingleton<ISubmissionHandler, MailSenderSubmissionHandler>();
            s.AddSmtpSubmission(settings.Submission);
            s.AddSmtpEgress(settings.Egress, settings.Dns);
        });
        await host.StartAsync();
        // Every local domain signs with its own DKIM key from the first message on.
        var dkim = host.Services.GetRequiredService<Mime.Dkim.DkimKeyStore>();
        foreach (var domain in settings.Domains) dkim.GetOrCreate(domain);
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
              submission  {Describe(host.Services.GetRequiredService<SubmissionServer>())} (AUTH PLAIN/LOGIN after TLS)
              outbound    {(settings.SmartHost is null ? $"MX delivery to port {settings.OutboundPort}" : $"via smart host {settings.SmartHost}")}, DNS {(settings.DnsServers.Count == 0 ? "system resolvers" : string.Join(", ", settings.DnsServers))}; DKIM keys in {Path.Combine(settings.DataDirectory, "dkim")} (dkim show prints the TXT records)
              reserved    imap {settings.ImapPort}, pop3 {settings.Pop3Port} (their servers are not in this build yet)
              admin       dotnet run --project src/MailActors.Node -- user add alice@{settings.Domains[0]} --password '...' --data-dir {settings.DataDirectory}
            Press Ctrl+C to stop.
            """);
        await host.WaitForShutdownAsync();
        return 0;
    }

    private static string Describe(SubmissionServer submission)
    {
        var parts = new List<string>();
        try { parts.Add($"{submission.Endpoint} STARTTLS"); } catch (InvalidOperationException) { }
        try { parts.Add($"{submission.ImplicitTlsEndpoint} implicit TLS"); } catch (InvalidOperationException) { }
        return parts.Count == 0 ? "off" : string.Join(", ", parts);
    }
}
