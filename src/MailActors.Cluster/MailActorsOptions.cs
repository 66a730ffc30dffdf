using MailActors.Cluster.Mailboxes;
using MailActors.Storage.Persistence;

namespace MailActors.Cluster;

/// <summary>Everything an embedding host decides about a MailActors node.</summary>
public sealed record MailActorsOptions
{
    public string ActorSystemName { get; init; } = "mailactors";

    /// <summary>Where blobs (and, by default, the SQLite journal) live.</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>Domains this node receives mail for.</summary>
    public IReadOnlyList<string> LocalDomains { get; init; } = ["localhost"];

    public bool IsLocalDomain(string domain) => LocalDomains.Contains(domain, StringComparer.OrdinalIgnoreCase);

    /// <summary>Address Akka remoting binds to and the port (0 = any free port).</summary>
    public string ClusterHostname { get; init; } = "127.0.0.1";
    public int ClusterPort { get; init; }

    /// <summary>"host:port" of seed nodes; empty = this node forms a cluster by itself.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>False = this process only talks to mailboxes hosted elsewhere (a shard-region proxy).</summary>
    public bool HostMailboxes { get; init; } = true;

    /// <summary>
    /// False = this process doesn't run outbound queues even when it hosts mailboxes (admin
    /// commands opening a data directory: they have no egress and must not record attempts).
    /// </summary>
    public bool HostOutbound { get; init; } = true;

    public int ShardCount { get; init; } = 100;

    public JournalOptions? Journal { get; init; }

    public MailboxSettings Mailbox { get; init; } = new();

    /// <summary>DKIM private keys (PEM paths) by domain; domains without one get a key generated in data-dir/dkim.</summary>
    public IReadOnlyDictionary<string, string>? DkimKeyFiles { get; init; }

    /// <summary>Retry policy and limits of the outbound queue.</summary>
    public Outbound.OutboundSettings Outbound { get; init; } = new();

    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public long DefaultQuotaBytes { get; init; } = 10L * 1024 * 1024 * 1024;

    public int PasswordIterations { get; init; } = Core.PasswordHasher.DefaultIterations;

    public JournalOptions EffectiveJournal =>
        Journal ?? new JournalOptions { SqlitePath = Path.Combine(DataDirectory, "mailactors.db") };

    public string BlobDirectory => Path.Combine(DataDirectory, "blobs");

    public const string MailboxRole = "mailbox";
    public const string MailboxTypeName = "mailbox";
    public const string OutboundTypeName = "outbound";
}
