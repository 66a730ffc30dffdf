using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Akka.Actor;
using MailActors.Cluster;
using MailActors.Net;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Smtp;

/// <summary>The SMTP MX: listens on the configured port and runs a session per connection.</summary>
public sealed class SmtpServer(
    SmtpServerOptions options,
    MailActorsOptions node,
    ActorSystem system,
    MailboxClient mailboxes,
    IBlobStore blobs,
    IMessageScanner scanner,
    ILogger<SmtpServer> log) : IHostedService, IAsyncDisposable
{
    private TcpServer? _server;
    private IngressPipeline? _pipeline;
    private X509Certificate2? _certificate;

    /// <summary>Where the server listens (the real port when 0 was configured).</summary>
    public IPEndPoint Endpoint => _server?.LocalEndpoint ?? throw new InvalidOperationException("SMTP server not started");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _certificate = TlsCertificates.LoadOrCreate(options.CertificatePath, options.CertificatePassword, node.DataDirectory, options.Hostname);
        _pipeline = new IngressPipeline(system, mailboxes, scanner, log, options.PipelineParallelism);
        var spool = Path.Combine(node.DataDirectory, "spool");
        Directory.CreateDirectory(spool);
        foreach (var stale in Directory.EnumerateFiles(spool)) IncomingMessage.TryDeleteSpool(stale); // never acknowledged
        _server = new TcpServer(
            new TcpServerOptions
            {
                Endpoint = new IPEndPoint(options.Address, options.Port),
                MaxConnections = options.MaxConnections,
                MaxConnectionsPerAddress = options.MaxConnectionsPerAddress,
            },
            (connection, ct) => new SmtpSession(connection, options, _certificate, mailboxes, blobs, _pipeline, spool, log).RunAsync(ct),
            RejectAsync,
            log);
        _server.Start();
        log.LogInformation("SMTP listening on {Endpoint} for {Domains}", _server.LocalEndpoint, string.Join(", ", options.LocalDomains));
        return Task.CompletedTask;
    }

    private async Task RejectAsync(Connection connection, string reason)
    {
        log.LogWarning("SMTP connection from {Peer} refused: {Reason}", connection.RemoteEndPoint, reason);
        await connection.Output.WriteAsync(Encoding.ASCII.GetBytes($"421 4.7.0 {options.Hostname} {reason}\r\n"));
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        if (_pipeline is not null) await _pipeline.DisposeAsync();
        _server = null;
        _pipeline = null;
    }
}

public static class SmtpHosting
{
    /// <summary>Adds the SMTP MX server to a host that already has AddMailActors.</summary>
    public static IServiceCollection AddSmtpIngress(this IServiceCollection services, SmtpServerOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<IMessageScanner, PassThroughScanner>();
        services.AddSingleton<SmtpServer>();
        services.AddHostedService(sp => sp.GetRequiredService<SmtpServer>());
        return services;
    }
}
