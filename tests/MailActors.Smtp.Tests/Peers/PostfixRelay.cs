using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace MailActors.Smtp.Tests.Peers;

/// <summary>
/// A private Postfix 3.x instance on its own loopback port that relays everything to
/// <c>[127.0.0.1]:relayPort</c> (the MX under test). It keeps its config, queue, pid, lock, sockets and
/// maillog under one temp dir and never touches the system instance.
/// </summary>
/// <remarks>
/// Facts this relies on (Postfix 3.7, Debian 12):
/// <list type="bullet">
/// <item>The <c>postfix</c> command is root-only; its daemons run as user <c>postfix</c>, so the dir must be 0755.</item>
/// <item><c>queue/</c> must exist and be root-owned; <c>data/</c> must NOT be pre-created (postfix makes it, owned by postfix).</item>
/// <item><c>queue_directory</c> must be set, or <c>postfix -c DIR stop</c> falls back to /var/spool/postfix and stops the system instance.</item>
/// <item>With stderr not a tty, <c>postfix start</c> prints nothing and exits 1 on error: the reason is in the maillog.</item>
/// <item><c>postfix start</c> returns once the master listens; <c>postfix stop</c> returns before the master has exited (~1.5 s later).</item>
/// <item>The master flock()s master.pid and .NET takes a shared flock when opening a file, so it is read with <c>cat</c>.</item>
/// </list>
/// </remarks>
public sealed class PostfixRelay : IAsyncDisposable
{
    public const string PostfixPath = "/usr/sbin/postfix";
    public const string PostdropPath = "/usr/sbin/postdrop";
    public const string Hostname = "relay.test.local";

    private const UnixFileMode Mode755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                         UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private PostfixRelay(string directory, int port, int relayPort)
    {
        Root = directory;
        Port = port;
        RelayPort = relayPort;
    }

    /// <summary>The instance's root: conf/, queue/, data/ and maillog.</summary>
    public string Root { get; }
    public int Port { get; }
    public int RelayPort { get; }
    public int MasterPid { get; private set; }
    public string ConfigDirectory => Path.Combine(Root, "conf");
    public string MaillogPath => Path.Combine(Root, "maillog");

    public static async Task<PostfixRelay> StartAsync(int relayPort)
    {
        await PreflightAsync();
        // /tmp explicitly, not $TMPDIR: the postfix user must be able to traverse every parent directory.
        var dir = Path.Combine("/tmp", "pftest." + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        var relay = new PostfixRelay(dir, ExternalTools.FreePort(), relayPort);
        try
        {
            await relay.StartInstanceAsync();
            return relay;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    private static async Task PreflightAsync()
    {
        ExternalTools.Require(PostfixPath, PostdropPath);
        var (_, uid) = await Sh.RunAsync("id", "-u");
        if (uid.Trim() != "0")
            throw new InvalidOperationException($"a private Postfix instance needs root (the postfix command is reserved for the superuser); running as uid {uid.Trim()}");
        if ((await Sh.RunAsync("getent", "passwd", "postfix")).ExitCode != 0)
            throw new InvalidOperationException("user 'postfix' does not exist (mail_owner); reinstall the package: apt-get install --reinstall postfix");
        foreach (var group in new[] { "postfix", "postdrop" })
        {
            if ((await Sh.RunAsync("getent", "group", group)).ExitCode != 0)
                throw new InvalidOperationException($"group '{group}' does not exist (setgid_group is postdrop); reinstall the package: apt-get install --reinstall postfix");
        }
    }

    private async Task StartInstanceAsync()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the private Postfix instance needs Linux");
        File.SetUnixFileMode(Root, Mode755); // daemons run as postfix: must traverse
        Directory.CreateDirectory(ConfigDirectory);
        Directory.CreateDirectory(Path.Combine(Root, "queue"));
        File.SetUnixFileMode(Path.Combine(Root, "queue"), Mode755);
        // data/ is deliberately not created: postfix makes it owned by postfix (else master.lock: Permission denied).
        await File.WriteAllTextAsync(Path.Combine(ConfigDirectory, "main.cf"), MainCf());
        await File.WriteAllTextAsync(Path.Combine(ConfigDirectory, "master.cf"), MasterCf());

        var (exit, output) = await RunPostfixAsync("start");
        if (exit != 0)
            throw new InvalidOperationException($"postfix -c {ConfigDirectory} start exited {exit}: {output}\nmaillog:\n{await ReadMaillogAsync()}");
        var (pidExit, pid) = await Sh.RunAsync("cat", Path.Combine(Root, "queue", "pid", "master.pid"));
        if (pidExit != 0 || !int.TryParse(pid.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var masterPid))
            throw new InvalidOperationException($"postfix started but master.pid is unreadable ({pid.Trim()}); maillog:\n{await ReadMaillogAsync()}");
        MasterPid = masterPid;
        await ExpectBannerAsync();
    }

    private string MainCf() => $"""
        compatibility_level = 3.6
        queue_directory = {Root}/queue
        data_directory = {Root}/data
        mail_owner = postfix
        setgid_group = postdrop
        myhostname = {Hostname}
        mydestination =
        local_recipient_maps =
        local_transport = error:local delivery disabled
        alias_maps =
        alias_database =
        inet_interfaces = 127.0.0.1
        inet_protocols = ipv4
        mynetworks = 127.0.0.0/8
        smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
        relayhost = [127.0.0.1]:{RelayPort}
        smtp_dns_support_level = disabled
        smtp_tls_security_level = none
        smtpd_tls_security_level = none
        queue_run_delay = 1s
        minimal_backoff_time = 1s
        maximal_backoff_time = 2s
        maillog_file_prefixes = {Root}
        maillog_file = {MaillogPath}
        syslog_name = postfix-test

        """;

    private string MasterCf() => string.Join('\n',
        $"127.0.0.1:{Port} inet n - n - - smtpd",
        "pickup unix n - n 60 1 pickup",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
        "showq unix n - n - - showq",
        "error unix - - n - - error",
        "retry unix - - n - - error",
        "discard unix - - n - - discard",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd") + "\n";

    private Task<(int ExitCode, string Output)> RunPostfixAsync(string command) =>
        Sh.RunAsync(PostfixPath, ["-c", ConfigDirectory, command], timeout: TimeSpan.FromSeconds(60));

    /// <summary>The master is up: the SMTP listener greets as the relay.</summary>
    private async Task ExpectBannerAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port, cts.Token);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        var banner = await reader.ReadLineAsync(cts.Token);
        if (banner is null || !banner.StartsWith($"220 {Hostname}", StringComparison.Ordinal))
            throw new InvalidOperationException($"unexpected banner from postfix on port {Port}: {banner}");
        await client.GetStream().WriteAsync("QUIT\r\n"u8.ToArray(), cts.Token);
    }

    /// <summary>The instance's log so far ("" before postlogd has written anything).</summary>
    public async Task<string> ReadMaillogAsync()
    {
        if (!File.Exists(MaillogPath)) return "";
        var (exit, text) = await Sh.RunAsync("cat", MaillogPath);
        return exit == 0 ? text : "";
    }

    /// <summary>Polls the maillog every 100 ms until <paramref name="done"/> holds or the timeout passes; returns the last text.</summary>
    public async Task<string> WaitForMaillogAsync(Func<string, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var log = await ReadMaillogAsync();
            if (done(log) || DateTime.UtcNow >= deadline) return log;
            await Task.Delay(100);
        }
    }

    /// <summary>Retries the deferred queue now instead of after the backoff.</summary>
    public Task<(int ExitCode, string Output)> FlushAsync() => RunPostfixAsync("flush");

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(ConfigDirectory, "main.cf")))
                await RunPostfixAsync("stop");
        }
        catch (TimeoutException)
        {
            // fall through to the kill below
        }
        if (MasterPid > 0)
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (IsAlive(MasterPid) && DateTime.UtcNow < deadline) await Task.Delay(100);
            if (IsAlive(MasterPid)) await Sh.RunAsync("kill", "-KILL", MasterPid.ToString(CultureInfo.InvariantCulture));
        }
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                await Task.Delay(100); // a daemon still exiting may create or hold a file for a moment
            }
            catch (IOException)
            {
                return; // leave the temp dir behind rather than fail the test on cleanup
            }
        }
    }

    /// <summary>The process exists and is not a zombie (a reparented master may not be reaped at once in a container).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            return state is not ('Z' or 'X' or default(char));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
