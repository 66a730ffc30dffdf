using MailActors.Node;

try
{
    var (settings, rest) = NodeSettings.Load(args);
    return rest switch
    {
        [] or ["run"] => await NodeRunner.RunAsync(settings),
        ["user", ..] => await AdminCommands.UserAsync(settings, rest[1..]),
        ["queue", ..] => await AdminCommands.QueueAsync(settings, rest[1..]),
        ["dkim", ..] => AdminCommands.Dkim(settings, rest[1..]),
        ["help" or "--help" or "-h"] => Usage(0),
        _ => Usage(2, $"unknown arguments: {string.Join(' ', rest)}"),
    };
}
catch (ArgumentException e)
{
    return Usage(2, e.Message);
}

static int Usage(int code, string? error = null)
{
    if (error is not null) Console.Error.WriteLine($"error: {error}\n");
    Console.Error.WriteLine("""
        usage: MailActors.Node [run] [flags]                start a node (the default)
               MailActors.Node user add ADDRESS [--password P] [--name NAME] [--quota-mb N] [flags]
               MailActors.Node user import FILE [flags]            one "address password [name]" per line
               MailActors.Node user list [flags]
               MailActors.Node queue list [DOMAIN] | queue retry DOMAIN [ID] | queue delete DOMAIN ID [flags]
               MailActors.Node dkim show [DOMAIN] [flags]               the DNS TXT record to publish

        flags (also in hocon/node.hocon and MAILACTORS_* environment variables):
          --data-dir DIR          blobs and the embedded SQLite journal (default ./data)
          --domain DOMAIN         a local mail domain; repeatable (default localhost)
          --http-port N           HTTP API (default 8080)
          --https-port N|off      HTTPS API with tls.certificate or a self-signed one (default 8443)
          --smtp-port N           SMTP MX (default 2525)
          --submission-port N     submission, STARTTLS then AUTH (default 5870)
          --submissions-port N|off  submission over implicit TLS (default 4650)
          --smart-host HOST:PORT  relay all outbound mail through this host
          --outbound-port N       port for MX delivery (default 25)
          --dns-server IP:PORT    DNS server for MX lookups; repeatable (default: system)
          --imap-port N  --pop3-port N
          --postgres CONNSTR      keep journal and snapshots in PostgreSQL instead of SQLite
          --cluster-hostname H    address Akka remoting binds to (default 127.0.0.1)
          --cluster-port N        Akka remoting port (default 0 = any free port)
          --seed-node HOST:PORT   join a cluster; repeatable (none = form a cluster alone)
          --hostname NAME         name in SMTP greetings and Received headers (default: this machine)
          --config FILE           a HOCON file layered over hocon/node.hocon
        """);
    return code;
}
