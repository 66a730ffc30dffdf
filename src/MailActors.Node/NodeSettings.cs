using Akka.Configuration;
using MailActors.Cluster;
using MailActors.Cluster.Mailboxes;
using MailActors.Storage.Persistence;

namespace MailActors.Node;

/// <summary>
/// The node's settings, layered: hocon/node.hocon, then a --config file, then MAILACTORS_*
/// environment variables, then command-line flags.
/// </summary>
public sealed record NodeSettings
{
    public required string DataDirectory { get; init; }
    public required IReadOnlyList<string> Domains { get; init; }
    public required int HttpPort { get; init; }
    /// <summary>Null = no HTTPS listener ("off").</summary>
    public int? HttpsPort { get; init; }
    public required Gateway.GatewayOptions Gateway { get; init; }
    public required int SmtpPort { get; init; }
    public required int SubmissionPort { get; init; }
    /// <summary>Implicit-TLS submission (465 style); null = off.</summary>
    public int? SubmissionsPort { get; init; }
    public required Smtp.SubmissionOptions Submission { get; init; }
    /// <summary>"host:port" every outbound message is relayed through; null = MX delivery.</summary>
    public string? SmartHost { get; init; }
    public string? SmartHostUser { get; init; }
    public string? SmartHostPassword { get; init; }
    /// <summary>Port for MX delivery (25; tests point it elsewhere).</summary>
    public required int OutboundPort { get; init; }
    /// <summary>DNS servers for MX lookups ("ip:port"); empty = the system's resolvers.</summary>
    public required IReadOnlyList<string> DnsServers { get; init; }
    public required int ImapPort { get; init; }
    public required int Pop3Port { get; init; }
    public string? Postgres { get; init; }
    public required string ClusterHostname { get; init; }
    public required int ClusterPort { get; init; }
    public required IReadOnlyList<string> SeedNodes { get; init; }
    public required int SnapshotEvery { get; init; }
    public required TimeSpan PassivateAfter { get; init; }
    public required long DefaultQuotaBytes { get; init; }
    public required Core.Outbound.RetryPolicy Retry { get; init; }
    public required string Hostname { get; init; }
    public required Smtp.SmtpServerOptions Smtp { get; init; }

    public Smtp.Outbound.EgressOptions Egress => new()
    {
        HeloName = Hostname,
        Port = OutboundPort,
        SmartHost = SmartHost is null ? null : HostPort(SmartHost, "--smart-host") is var (host, port)
            ? new Smtp.Outbound.SmartHost(host, port, SmartHostUser, SmartHostPassword)
            : null,
    };

    public Smtp.Outbound.DnsOptions Dns => new()
    {
        Servers = DnsServers.Select(s => HostPort(s, "--dns-server") is var (host, port)
            ? new System.Net.IPEndPoint(System.Net.IPAddress.Parse(host), port)
            : throw new ArgumentException(s)).ToList(),
    };

    public MailActorsOptions ToOptions(bool hostMailboxes = true) => new()
    {
        DataDirectory = DataDirectory,
        LocalDomains = Domains,
        ClusterHostname = ClusterHostname,
        ClusterPort = ClusterPort,
        SeedNodes = SeedNodes,
        HostMailboxes = hostMailboxes,
        DefaultQuotaBytes = DefaultQuotaBytes,
        Journal = string.IsNullOrWhiteSpace(Postgres)
            ? new JournalOptions { SqlitePath = Path.Combine(DataDirectory, "mailactors.db") }
            : new JournalOptions { PostgresConnectionString = Postgres },
        Mailbox = new MailboxSettings { SnapshotEvery = SnapshotEvery, PassivateAfter = PassivateAfter },
        Outbound = new Cluster.Outbound.OutboundSettings { Retry = Retry },
    };

    /// <summary>Flags every command accepts; returns the settings and the arguments that are not settings.</summary>
    public static (NodeSettings Settings, List<string> Commands) Load(string[] args, IDictionary<string, string?>? environment = null)
    {
        var env = environment ?? Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
        var overrides = new Dictionary<string, object>();
        var lists = new Dictionary<string, List<string>>();
        string? configFile = null;
        var rest = new List<string>();

        // Environment first, flags after, so flags win.
        void FromEnv(string variable, string key, bool list = false)
        {
            if (!env.TryGetValue(variable, out var value) || string.IsNullOrWhiteSpace(value)) return;
            if (list) lists[key] = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            else overrides[key] = value;
        }
        FromEnv("MAILACTORS_DATA_DIR", "data-dir");
        FromEnv("MAILACTORS_DOMAINS", "domains", list: true);
        FromEnv("MAILACTORS_HTTP_PORT", "http-port");
        FromEnv("MAILACTORS_HTTPS_PORT", "https-port");
        FromEnv("MAILACTORS_SMTP_PORT", "smtp-port");
        FromEnv("MAILACTORS_SUBMISSION_PORT", "submission-port");
        FromEnv("MAILACTORS_SUBMISSIONS_PORT", "submissions-port");
        FromEnv("MAILACTORS_SMART_HOST", "outbound.smart-host");
        FromEnv("MAILACTORS_OUTBOUND_PORT", "outbound.port");
        FromEnv("MAILACTORS_DNS_SERVERS", "outbound.dns-servers", list: true);
        FromEnv("MAILACTORS_IMAP_PORT", "imap-port");
        FromEnv("MAILACTORS_POP3_PORT", "pop3-port");
        FromEnv("MAILACTORS_POSTGRES", "postgres");
        FromEnv("MAILACTORS_CLUSTER_HOSTNAME", "cluster.hostname");
        FromEnv("MAILACTORS_CLUSTER_PORT", "cluster.port");
        FromEnv("MAILACTORS_SEED_NODES", "cluster.seed-nodes", list: true);
        FromEnv("MAILACTORS_HOSTNAME", "hostname");
        if (env.TryGetValue("MAILACTORS_CONFIG", out var envConfig) && !string.IsNullOrWhiteSpace(envConfig)) configFile = envConfig;

        var flagLists = new Dictionary<string, List<string>>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)
                ? args[++i]
                : throw new ArgumentException($"{arg} needs a value");
            switch (arg)
            {
                case "--data-dir": overrides["data-dir"] = Value(); break;
                case "--domain": Add(flagLists, "domains", Value()); break;
                case "--http-port": overrides["http-port"] = Value(); break;
                case "--https-port": overrides["https-port"] = Value(); break;
                case "--smtp-port": overrides["smtp-port"] = Value(); break;
                case "--submission-port": overrides["submission-port"] = Value(); break;
                case "--submissions-port": overrides["submissions-port"] = Value(); break;
                case "--smart-host": overrides["outbound.smart-host"] = Value(); break;
                case "--outbound-port": overrides["outbound.port"] = Value(); break;
                case "--dns-server": Add(flagLists, "outbound.dns-servers", Value()); break;
                case "--imap-port": overrides["imap-port"] = Value(); break;
                case "--pop3-port": overrides["pop3-port"] = Value(); break;
                case "--postgres": overrides["postgres"] = Value(); break;
                case "--cluster-hostname": overrides["cluster.hostname"] = Value(); break;
                case "--cluster-port": overrides["cluster.port"] = Value(); break;
                case "--seed-node": Add(flagLists, "cluster.seed-nodes", Value()); break;
                case "--hostname": overrides["hostname"] = Value(); break;
                case "--config": configFile = Value(); break;
                default: rest.Add(arg); break;
            }
        }
        foreach (var (key, values) in flagLists) lists[key] = values;

        var config = ConfigurationFactory.ParseString(File.ReadAllText(BaseHoconPath()));
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ArgumentException($"config file not found: {configFile}");
            config = ConfigurationFactory.ParseString(File.ReadAllText(configFile)).WithFallback(config);
        }
        var m = config.GetConfig("mailactors");

        string Str(string key) => overrides.TryGetValue(key, out var v) ? (string)v : m.GetString(key, "");
        int Port(string key)
        {
            var text = overrides.TryGetValue(key, out var v) ? (string)v : m.GetInt(key).ToString();
            return int.TryParse(text, out var port) && port is >= 0 and <= 65535
                ? port
                : throw new ArgumentException($"{key} must be a port number 0..65535, not '{text}'");
        }
        int? OptionalPort(string key) =>
            (overrides.TryGetValue(key, out var v) ? (string)v : m.GetString(key, "")) is "" or "off" ? null : Port(key);
        IReadOnlyList<string> List(string key) => lists.TryGetValue(key, out var l) ? l : m.GetStringList(key).ToList();

        var domains = List("domains").Select(d => d.Trim().TrimEnd('.').ToLowerInvariant()).Where(d => d.Length > 0).Distinct().ToList();
        if (domains.Count == 0) throw new ArgumentException("at least one local domain is needed (--domain)");
        var seeds = List("cluster.seed-nodes");
        foreach (var seed in seeds)
        {
            try { MailActorsHosting.SeedAddress("check", seed); }
            catch (FormatException e) { throw new ArgumentException(e.Message, e); }
        }

        var hostname = Str("hostname") is { Length: > 0 } h ? h : System.Net.Dns.GetHostName().ToLowerInvariant();
        var certificate = m.GetString("tls.certificate", "") is { Length: > 0 } cert ? cert : null;
        var certificatePassword = m.GetString("tls.password", "") is { Length: > 0 } pw ? pw : null;
        var listen = m.GetString("http.listen-address", "0.0.0.0");
        if (!System.Net.IPAddress.TryParse(listen, out _)) throw new ArgumentException($"http.listen-address must be an IP address, not '{listen}'");
        var smartHost = Str("outbound.smart-host") is { Length: > 0 } sh ? sh : null;
        if (smartHost is not null) HostPort(smartHost, "--smart-host");
        var dnsServers = List("outbound.dns-servers");
        foreach (var server in dnsServers)
            if (!System.Net.IPAddress.TryParse(HostPort(server, "--dns-server").Host, out _))
                throw new ArgumentException($"--dns-server is ip:port, not '{server}'");
        var settings = new NodeSettings
        {
            SubmissionsPort = OptionalPort("submissions-port"),
            Submission = new Smtp.SubmissionOptions
            {
                Port = Port("submission-port"),
                ImplicitTlsPort = OptionalPort("submissions-port"),
                Hostname = hostname,
                LocalDomains = domains,
                CertificatePath = certificate,
                CertificatePassword = certificatePassword,
                MaxMessageSize = m.GetLong("smtp.max-message-size", 50L << 20),
                MaxRecipients = m.GetInt("smtp.max-recipients", 100),
            },
            SmartHost = smartHost,
            SmartHostUser = Str("outbound.smart-host-user") is { Length: > 0 } su ? su : null,
            SmartHostPassword = Str("outbound.smart-host-password") is { Length: > 0 } sp ? sp : null,
            OutboundPort = Port("outbound.port"),
            DnsServers = dnsServers,
            HttpsPort = OptionalPort("https-port"),
            Gateway = new Gateway.GatewayOptions
            {
                HttpPort = Port("http-port"),
                HttpsPort = OptionalPort("https-port"),
                ListenAddress = listen,
                CertificatePath = certificate,
                CertificatePassword = certificatePassword,
                SignupEnabled = m.GetBoolean("http.signup", true),
                Admins = m.HasPath("http.admins") ? m.GetStringList("http.admins").ToList() : [],
                SessionLifetime = m.GetTimeSpan("http.session-lifetime", TimeSpan.FromDays(30)),
            },
            Hostname = hostname,
            Smtp = new Smtp.SmtpServerOptions
            {
                Port = Port("smtp-port"),
                Hostname = hostname,
                LocalDomains = domains,
                MaxMessageSize = m.GetLong("smtp.max-message-size", 50L << 20),
                MaxRecipients = m.GetInt("smtp.max-recipients", 100),
                MaxConnections = m.GetInt("smtp.max-connections", 2000),
                MaxConnectionsPerAddress = m.GetInt("smtp.max-connections-per-address", 50),
                CommandTimeout = m.GetTimeSpan("smtp.command-timeout", TimeSpan.FromMinutes(5)),
                DataTimeout = m.GetTimeSpan("smtp.data-timeout", TimeSpan.FromMinutes(10)),
                CertificatePath = certificate,
                CertificatePassword = certificatePassword,
            },
            DataDirectory = Path.GetFullPath(Str("data-dir")),
            Domains = domains,
            HttpPort = Port("http-port"),
            SmtpPort = Port("smtp-port"),
            SubmissionPort = Port("submission-port"),
            ImapPort = Port("imap-port"),
            Pop3Port = Port("pop3-port"),
            Postgres = Str("postgres") is { Length: > 0 } pg ? pg : null,
            ClusterHostname = Str("cluster.hostname"),
            ClusterPort = Port("cluster.port"),
            SeedNodes = seeds,
            SnapshotEvery = Math.Max(10, m.GetInt("mailbox.snapshot-every", 1000)),
            PassivateAfter = m.GetTimeSpan("mailbox.passivate-after", TimeSpan.FromMinutes(2)),
            DefaultQuotaBytes = m.GetLong("mailbox.default-quota-bytes", 10L << 30),
            Retry = new Core.Outbound.RetryPolicy
            {
                First = m.GetTimeSpan("outbound.retry-first", TimeSpan.FromMinutes(1)),
                Max = m.GetTimeSpan("outbound.retry-max", TimeSpan.FromHours(1)),
                GiveUpAfter = m.GetTimeSpan("outbound.give-up-after", TimeSpan.FromDays(5)),
            },
        };
        return (settings, rest);
    }

    /// <summary>Validates "host:port" (IPv6 as [addr]:port).</summary>
    public static (string Host, int Port) HostPort(string value, string what)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"{what} is host:port, not '{value}'");
        return (value[..colon].Trim('[', ']'), port);
    }

    private static void Add(Dictionary<string, List<string>> lists, string key, string value)
    {
        if (!lists.TryGetValue(key, out var list)) lists[key] = list = [];
        list.Add(value);
    }

    private static string BaseHoconPath()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "hocon", "node.hocon");
        return File.Exists(path) ? path : throw new FileNotFoundException($"missing {path}; the build copies hocon/node.hocon there");
    }
}
