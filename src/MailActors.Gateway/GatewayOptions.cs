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

    /// <summary>Accounts allowed to use /v1/admin (queue administration).</summary>
    public IReadOnlyList<string> Admins { get; init; } = [];

    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How long a node trusts a session check, and how often an open WebSocket re-checks its session.</summary>
    public TimeSpan SessionCheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Login attempts a client address may make at once, then one more per refill period.</summary>
    public int LoginBurstPerIp { get; init; } = 20;
    public TimeSpan LoginRefillPerIp { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Login attempts against one account, from anywhere, at once and then one per period.</summary>
    public int LoginBurstPerAccount { get; init; } = 5;
    public TimeSpan LoginRefillPerAccount { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Sign-ups one client address may make at once, then one more per refill period.</summary>
    public int SignupBurstPerIp { get; init; } = 5;
    public TimeSpan SignupRefillPerIp { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Realtime connections (WebSocket and long-poll) one mailbox may hold on one node.</summary>
    public int MaxRealtimeConnectionsPerMailbox { get; init; } = 20;

    /// <summary>Bytes of rendered messages kept for repeated opens.</summary>
    public long RenderCacheBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest compose request (JSON or multipart with attachments).</summary>
    public long MaxComposeBytes { get; init; } = 40L * 1024 * 1024;

    /// <summary>Largest body of any other request.</summary>
    public long MaxJsonBytes { get; init; } = 256 * 1024;

    public int MaxRecipients { get; init; } = 100;

    public long MaxAttachmentBytes { get; init; } = 25L * 1024 * 1024;

    /// <summary>Undelivered realtime events a slow WebSocket may fall behind before it is closed (it resumes from its cursor).</summary>
    public int MaxPendingPushes { get; init; } = 1000;
}
