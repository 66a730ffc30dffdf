using System.Net;

namespace MailActors.Smtp;

/// <summary>Limits and settings of the SMTP MX server. Every limit has a reply code and a test that crosses it.</summary>
public sealed record SmtpServerOptions
{
    public IPAddress Address { get; init; } = IPAddress.Any;
    public int Port { get; init; } = 2525;

    /// <summary>Name in the greeting, EHLO reply and Received headers.</summary>
    public string Hostname { get; init; } = Environment.MachineName.ToLowerInvariant();

    public IReadOnlyList<string> LocalDomains { get; init; } = ["localhost"];

    /// <summary>Advertised in SIZE; larger messages get 552 5.3.4.</summary>
    public long MaxMessageSize { get; init; } = 50L * 1024 * 1024;
    public int MaxRecipients { get; init; } = 100;
    /// <summary>A command line, CRLF included (RFC 5321 allows 512; extensions need more).</summary>
    public int MaxCommandLine { get; init; } = 2048;
    public int MaxDataLineLength { get; init; } = 64 * 1024;
    public int MaxHeaderBytes { get; init; } = 1024 * 1024;
    /// <summary>Commands without a completed transaction (EHLO, NOOP, RSET, VRFY, bad ones …) before the session is closed.</summary>
    public int MaxCommandsWithoutMail { get; init; } = 50;
    public int MaxErrors { get; init; } = 10;
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan DataTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public int MaxConnections { get; init; } = 2000;
    public int MaxConnectionsPerAddress { get; init; } = 50;

    /// <summary>Messages parsed, scanned and delivered at once by the ingress pipeline.</summary>
    public int PipelineParallelism { get; init; } = 64;

    /// <summary>PFX file for STARTTLS; null = a self-signed certificate kept in the data directory.</summary>
    public string? CertificatePath { get; init; }
    public string? CertificatePassword { get; init; }

    public bool IsLocalDomain(string domain) =>
        LocalDomains.Any(d => string.Equals(d, domain.TrimEnd('.'), StringComparison.OrdinalIgnoreCase));
}
