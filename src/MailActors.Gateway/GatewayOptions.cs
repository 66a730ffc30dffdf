namespace MailActors.Gateway;

/// <summary>What a host decides about the HTTP gateway.</summary>
public sealed record GatewayOptions
{
    /// <summary>HTTP port (0 = any free port; null = no plain-HTTP listener).</summary>
    public int? HttpPort { get; init; } = 8080;

    /// <summary>HTTPS port (null = no HTTPS listener).</summary>
    public int? HttpsPort { get; init; }

    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>PFX for HTTPS; null = the node's self-signed development certificate.</summary>
    public string? CertificatePath { get; init; }
    public string? CertificatePassword { get; init; }

    public bool SignupEnabled { get; init; } = true;

    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromDays(30);
}
