using System.Text;

namespace MailActors.Smtp.Outbound;

/// <summary>How <see cref="SmtpDeliverer"/> connects to other mail servers.</summary>
public sealed record EgressOptions
{
    /// <summary>Our name in EHLO; should be a name whose A record points back at the sending address.</summary>
    public required string HeloName { get; init; }
    /// <summary>Port of MX targets (25; tests point it at a local sink).</summary>
    public int Port { get; init; } = 25;
    /// <summary>When set, every message goes to this relay and MX targets are ignored.</summary>
    public SmartHost? SmartHost { get; init; }
    /// <summary>TCP connect, per address.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Waiting for any single reply (RFC 5321 §4.5.3.2 suggests 5 minutes and more for DATA).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Refuse to send without STARTTLS and a certificate that validates; false = opportunistic TLS.</summary>
    public bool RequireTls { get; init; }
    public int MaxConnectionsPerHost { get; init; } = 4;

    /// <summary>Deliveries in flight on this node at once, across all destinations (the egress stream\'s parallelism).</summary>
    public int MaxParallelDeliveries { get; init; } = 64;
    /// <summary>An idle connection kept for the next message to the same host is closed after this long.</summary>
    public TimeSpan IdleConnectionLifetime { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>A relay that takes all outbound mail; AUTH (after STARTTLS, when offered) when <see cref="User"/> is set.</summary>
public sealed record SmartHost(string Host, int Port, string? User = null, string? Password = null)
{
    // Records print every property: keep the password out of logs.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Host = {Host}, Port = {Port}, User = {User}");
        return true;
    }
}
