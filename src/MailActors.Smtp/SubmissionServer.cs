using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MailActors.Cluster;
using MailActors.Net;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Smtp;

/// <summary>Settings of SMTP submission (RFC 6409) for mail clients.</summary>
public sealed record SubmissionOptions
{
    public IPAddress Address { get; init; } = IPAddress.Any;

    /// <summary>587-style port: plain text, STARTTLS, AUTH only after TLS. Null = no such listener; 0 = any free port.</summary>
    public int? Port { get; init; } = 5870;

    /// <summary>465-style port (RFC 8314): TLS from the first byte. Null = no such listener; 0 = any free port.</summary>
    public int? ImplicitTlsPort { get; init; }

    /// <summary>Name in the greeting, EHLO reply and Received header.</summary>
    public string Hostname { get; init; } = Environment.MachineName.ToLowerInvariant();

    /// <summary>The first one completes a bare <c>RCPT TO:&lt;postmaster&gt;</c>.</summary>
    public IReadOnlyList<string> LocalDomains { get; init; } = ["localhost"];

    /// <summary>PFX file for TLS; null = a self-signed certificate kept in <c>&lt;data-dir&gt;/tls</c>.</summary>
    public string? CertificatePath { get; init; }
    public string? CertificatePassword { get; init; }

    /// <summary>Holds the self-signed certificate and the spool; null = the node's data directory.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Advertised in SIZE; larger messages get 552 5.3.4.</summary>
    public long MaxMessageSize { get; init; } = 50L * 1024 * 1024;
    public int MaxRecipients { get; init; } = 100;

    /// <summary>Failed AUTH attempts from one client address (IPv6: one /64) within <see cref="AuthFailureWindow"/>; then 454 4.7.0 and the connection is closed.</summary>
    public int MaxAuthFailuresPerAddress { get; init; } = 5;

    /// <summary>Failed AUTH attempts against one account, from anywhere, within <see cref="AuthFailureWindow"/>.</summary>
    public int MaxAuthFailuresPerAccount { get; init; } = 10;

    public TimeSpan AuthFailureWindow { get; init; } = TimeSpan.FromMinutes(15);

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan DataTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public int MaxConnections { get; init; } = 2000;
    public int MaxConnectionsPerAddress { get; init; } = 50;

    /// <summary>The session limits: the MX defaults for everything submission does not set itself.</summary>
    internal SmtpServerOptions SessionOptions() => new()
    {
        Address = Address,
        Hostname = Hostname,
        LocalDomains = LocalDomains,
        MaxMessageSize = MaxMessageSize,
        MaxRecipients = MaxRecipients,
        CommandTimeout = CommandTimeout,
        DataTimeout = DataTimeout,
        MaxConnections = MaxConnections,
        MaxConnectionsPerAddress = MaxConnectionsPerAddress,
        CertificatePath = CertificatePath,
        CertificatePassword = CertificatePassword,
    };
}

/// <summary>What a submission session needs besides what every SMTP session has.</summary>
internal sealed record SubmissionContext(ISubmissionHandler Handler, SubmissionAuthThrottle Throttle);

/// <summary>
/// SMTP submission for mail clients: a STARTTLS port and an implicit-TLS port, both running
/// <see cref="SmtpSession"/> in submission mode (AUTH over TLS, sender must be the user,
/// messages handed to <see cref="ISubmissionHandler"/>).
/// </summary>
public sealed class SubmissionServer(
    SubmissionOptions options,
    MailActorsOptions node,
    MailboxClient mailboxes,
    IBlobStore blobs,
    ISubmissionHandler handler,
    ILogger<SubmissionServer> log) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(30);

    private readonly SmtpServerOptions _session = options.SessionOptions();
    private readonly SubmissionContext _context = new(handler, new SubmissionAuthThrottle(options));
    private TcpServer? _starttls;
    private TcpServer? _implicitTls;
    private X509Certificate2? _certificate;
    private string _spool = "";

    /// <summary>Where the STARTTLS listener listens (the real port when 0 was configured).</summary>
    public IPEndPoint Endpoint => _starttls?.LocalEndpoint ?? throw new InvalidOperationException("submission STARTTLS port not started");

    /// <summary>Where the implicit-TLS listener listens (the real port when 0 was configured).</summary>
    public IPEndPoint ImplicitTlsEndpoint => _implicitTls?.LocalEndpoint ?? throw new InvalidOperationException("submission implicit TLS port not started");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var data = options.DataDirectory ?? node.DataDirectory;
        _certificate = TlsCertificates.LoadOrCreate(options.CertificatePath, options.CertificatePassword, data, options.Hostname);
        // A subdirectory of the MX spool: the MX clears only the files directly in it at start.
        _spool = Path.Combine(data, "spool", "submission");
        Directory.CreateDirectory(_spool);
        foreach (var stale in Directory.EnumerateFiles(_spool)) IncomingMessage.TryDeleteSpool(stale); // never acknowledged
        if (options.Port is { } port)
        {
            _starttls = Listen(port, RunSessionAsync, RejectAsync);
            log.LogInformation("SMTP submission (STARTTLS) listening on {Endpoint}", _starttls.LocalEndpoint);
        }
        if (options.ImplicitTlsPort is { } tlsPort)
        {
            _implicitTls = Listen(tlsPort, RunImplicitTlsAsync, RejectImplicitTlsAsync);
            log.LogInformation("SMTP submission (implicit TLS) listening on {Endpoint}", _implicitTls.LocalEndpoint);
        }
        if (_starttls is null && _implicitTls is null) log.LogWarning("SMTP submission has no port configured");
        return Task.CompletedTask;
    }

    private TcpServer Listen(int port, Func<Connection, CancellationToken, Task> handle, Func<Connection, string, Task> reject)
    {
        var server = new TcpServer(
            new TcpServerOptions
            {
                Endpoint = new IPEndPoint(options.Address, port),
                MaxConnections = options.MaxConnections,
                MaxConnectionsPerAddress = options.MaxConnectionsPerAddress,
            },
            handle, reject, log);
        server.Start();
        return server;
    }

    private Task RunSessionAsync(Connection connection, CancellationToken ct) =>
        new SmtpSession(connection, _session, _certificate!, mailboxes, blobs, null, _spool, log, _context).RunAsync(ct);

    private async Task RunImplicitTlsAsync(Connection connection, CancellationToken ct)
    {
        if (await HandshakeAsync(connection, ct)) await RunSessionAsync(connection, ct);
    }

    private async Task RejectAsync(Connection connection, string reason)
    {
        log.LogWarning("SMTP submission connection from {Peer} refused: {Reason}", connection.RemoteEndPoint, reason);
        await connection.Output.WriteAsync(Encoding.ASCII.GetBytes($"421 4.7.0 {options.Hostname} {reason}\r\n"));
    }

    private async Task RejectImplicitTlsAsync(Connection connection, string reason)
    {
        // The client speaks TLS first: the refusal has to come through it to be read.
        if (await HandshakeAsync(connection, CancellationToken.None)) await RejectAsync(connection, reason);
    }

    /// <summary>The TLS handshake of the implicit-TLS port; a failed one (scanners, wrong protocol) is logged and ends the connection.</summary>
    private async Task<bool> HandshakeAsync(Connection connection, CancellationToken ct)
    {
        try
        {
            await connection.UpgradeToTlsAsync(_certificate!, HandshakeTimeout, ct);
            return true;
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
        {
            log.LogInformation("SMTP submission TLS handshake with {Peer} failed: {Message}", connection.RemoteEndPoint, e.Message);
            return false;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_starttls is not null) await _starttls.DisposeAsync();
        if (_implicitTls is not null) await _implicitTls.DisposeAsync();
        _starttls = null;
        _implicitTls = null;
    }
}

public static class SubmissionHosting
{
    /// <summary>
    /// Adds SMTP submission to a host that already has AddMailActors. The host must also register
    /// the <see cref="ISubmissionHandler"/> that takes submitted messages.
    /// </summary>
    public static IServiceCollection AddSmtpSubmission(this IServiceCollection services, SubmissionOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<SubmissionServer>();
        services.AddHostedService(sp => sp.GetRequiredService<SubmissionServer>());
        return services;
    }
}
