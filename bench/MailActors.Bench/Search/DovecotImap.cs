using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using MailKit.Net.Imap;
using MailKit.Security;

namespace MailActors.Bench.Search;

/// <summary>
/// A private Dovecot IMAP server for one benchmark run (shared/recipes/dovecot.md): a
/// self-contained dovecot.conf in a temp directory, IMAP only on a free loopback port, one
/// passwd-file user whose Maildir is <c>&lt;mailRoot&gt;/&lt;domain&gt;/&lt;local&gt;</c>, owned by the
/// vmail system user; no FTS plugin; logs to files. The master runs in the foreground (-F) as
/// our child with its output sent to a file (a daemon holding our stdout pipe would keep
/// <c>dotnet run</c> waiting). Disposing stops it with <c>doveadm stop</c> and then kills
/// whatever of it is left, by process id.
/// </summary>
public sealed class DovecotImap : IAsyncDisposable
{
    private const string DovecotBinary = "/usr/sbin/dovecot";
    private const string MailUser = "vmail";

    private readonly Process _master;
    private readonly string _runDir;
    private readonly PosixSignalRegistration[] _signals;
    private bool _disposed;

    public int Port { get; }
    public string ConfigPath { get; }
    public string LogPath { get; }
    public string User { get; }
    public string Password { get; }

    private DovecotImap(Process master, int port, string configPath, string logPath, string runDir, string user, string password)
    {
        _master = master;
        Port = port;
        ConfigPath = configPath;
        LogPath = logPath;
        _runDir = runDir;
        User = user;
        Password = password;
        // Dovecot must not outlive us: on exit, SIGTERM or Ctrl+C its processes are killed (and the
        // signal then does what it would have done).
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        _signals = [PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal)];
    }

    /// <summary>Null when Dovecot can run here, else why not.</summary>
    public static string? MissingReason()
    {
        if (!File.Exists(DovecotBinary)) return $"{DovecotBinary} is not installed (apt-get install dovecot-imapd)";
        if (!Environment.UserName.Equals("root", StringComparison.Ordinal))
            return "Dovecot needs to start as root here (it switches to the vmail user for the mailbox)";
        return null;
    }

    /// <summary>
    /// Writes the config, hands the Maildirs under <paramref name="mailRoot"/> to vmail and
    /// starts Dovecot; returns once the IMAP port accepts connections.
    /// </summary>
    public static async Task<DovecotImap> StartAsync(string dir, string mailRoot, string user, string password)
    {
        if (MissingReason() is { } reason) throw new InvalidOperationException(reason);
        await EnsureMailUserAsync();
        Directory.CreateDirectory(dir);
        // Socket paths must stay short (108 bytes): base_dir lives in a short temp directory.
        var runDir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "dovebench-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var stateDir = Directory.CreateDirectory(Path.Combine(dir, "state")).FullName;
        var passwd = Path.Combine(dir, "passwd");
        await File.WriteAllTextAsync(passwd, $"{user}:{{PLAIN}}{password}::::::\n");
        await RunAsync("chown", "-R", $"{MailUser}:{MailUser}", mailRoot);

        var port = FreePort();
        var config = Path.Combine(dir, "dovecot.conf");
        var log = Path.Combine(dir, "dovecot.log");
        await File.WriteAllTextAsync(config, $$"""
            # MailActors.Bench search: a private Dovecot, IMAP on 127.0.0.1:{{port}} only, no FTS plugin.
            base_dir = {{runDir}}
            state_dir = {{stateDir}}
            instance_name = mailactors-bench-{{port}}
            protocols = imap
            listen = 127.0.0.1
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            log_path = {{log}}
            info_log_path = {{Path.Combine(dir, "dovecot-info.log")}}
            mail_location = maildir:{{mailRoot}}/%d/%n
            mail_uid = {{MailUser}}
            mail_gid = {{MailUser}}
            mail_plugins =
            passdb {
              driver = passwd-file
              args = {{passwd}}
            }
            userdb {
              driver = passwd-file
              args = {{passwd}}
              default_fields = uid={{MailUser}} gid={{MailUser}} home={{mailRoot}}/%d/%n
            }
            service imap-login {
              inet_listener imap {
                address = 127.0.0.1
                port = {{port}}
              }
              inet_listener imaps {
                port = 0
              }
            }
            """);

        // exec: the shell becomes dovecot, with stdout/stderr on a file and no pipe of ours.
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var a in new[] { "-c", "exec \"$0\" -F -c \"$1\" >\"$2\" 2>&1 </dev/null", DovecotBinary, config, Path.Combine(dir, "dovecot.out") })
            start.ArgumentList.Add(a);
        var master = Process.Start(start) ?? throw new InvalidOperationException("dovecot did not start");
        var server = new DovecotImap(master, port, config, log, runDir, user, password);
        try
        {
            await server.WaitForPortAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A logged-in client (no TLS on loopback); long timeout for BODY searches of big mailboxes.</summary>
    public async Task<ImapClient> ConnectAsync()
    {
        var client = new ImapClient { Timeout = (int)TimeSpan.FromMinutes(10).TotalMilliseconds };
        await client.ConnectAsync("127.0.0.1", Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(User, Password);
        return client;
    }

    /// <summary>Bytes of Dovecot's own files in a Maildir (index, cache, log, uidlist).</summary>
    public static long IndexBytes(string maildir) =>
        Directory.EnumerateFiles(maildir, "dovecot*", SearchOption.TopDirectoryOnly).Sum(f => new FileInfo(f).Length);

    public string LogTail(int lines = 20)
    {
        var text = new List<string>();
        foreach (var path in new[] { LogPath, Path.Combine(Path.GetDirectoryName(LogPath)!, "dovecot.out") })
            if (File.Exists(path)) text.AddRange(File.ReadLines(path).TakeLast(lines));
        return string.Join('\n', text);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (var signal in _signals) signal.Dispose();
        var children = Descendants(_master.Id);
        try
        {
            if (!_master.HasExited)
            {
                await RunAsync("doveadm", "-c", ConfigPath, "stop");
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await _master.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // doveadm failed: the kills below still clean up
        }
        finally
        {
            KillLeftovers(children);
            _master.Dispose();
            DeleteRunDirectory();
        }
    }

    private void OnProcessExit(object? sender, EventArgs e) => OnSignal(null);

    private void OnSignal(PosixSignalContext? context)
    {
        KillLeftovers(Descendants(_master.Id));
        DeleteRunDirectory();
    }

    private void DeleteRunDirectory()
    {
        try
        {
            Directory.Delete(_runDir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a socket still in use; it is in the temp directory
        }
    }

    private void KillLeftovers(IReadOnlyList<int> children)
    {
        try
        {
            if (!_master.HasExited) _master.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        foreach (var pid in children)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                // Only if that id still belongs to a Dovecot process (ids are reused).
                if (p.ProcessName.StartsWith("dovecot", StringComparison.Ordinal) || p.ProcessName is "imap" or "imap-login" or "auth" or "anvil" or "log" or "config" or "stats")
                    p.Kill();
            }
            catch (ArgumentException)
            {
                // already gone
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Process ids below <paramref name="root"/>, from /proc (each line of stat names the parent).</summary>
    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
            }
        }
        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
            foreach (var (pid, ppid) in parents)
                if (ppid == parent)
                {
                    result.Add(pid);
                    frontier.Enqueue(pid);
                }
        return result;
    }

    private async Task WaitForPortAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (_master.HasExited) throw new InvalidOperationException($"dovecot exited with {_master.ExitCode}:\n{LogTail()}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"dovecot did not listen on {Port} within 20 s:\n{LogTail()}");
    }

    /// <summary>The recipe's vmail system user owns the Maildirs; created when missing (we are root).</summary>
    private static async Task EnsureMailUserAsync()
    {
        if (File.ReadLines("/etc/passwd").Any(l => l.StartsWith(MailUser + ":", StringComparison.Ordinal))) return;
        await RunAsync("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", MailUser);
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await error}{await output}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
