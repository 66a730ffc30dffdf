using System.Diagnostics;
using System.Net;
using System.Text;
using DnsClient;
using MailActors.Smtp.Tests.Peers;

namespace MailActors.Smtp.Tests.Outbound;

/// <summary>
/// dnsmasq on a free loopback port serving only the records a test gives, with no upstream.
/// </summary>
/// <remarks>
/// Facts this relies on (dnsmasq 2.90, Debian 12, package dnsmasq-base):
/// <list type="bullet">
/// <item><c>no-resolv</c> and no <c>server=</c>: nothing is forwarded; <c>no-hosts</c>: /etc/hosts is ignored;
/// <c>local=/test/</c>: unknown <c>*.test</c> names get NXDOMAIN.</item>
/// <item><c>--conf-file</c> replaces /etc/dnsmasq.conf; <c>--keep-in-foreground</c> keeps it our child, SIGKILL/SIGTERM stop it at once.</item>
/// <item>A busy port (UDP or TCP) makes it exit at once with status 2: pick another port and start again.</item>
/// <item><c>host-record=</c> rather than <c>address=</c>: with <c>address=</c> the AAAA query answers NXDOMAIN.</item>
/// <item><c>mx-host=name,.,0</c> publishes a null MX (RFC 7505). Local records have TTL 0, so nothing is cached.</item>
/// </list>
/// </remarks>
public sealed class DnsmasqServer : IAsyncDisposable
{
    public const string DnsmasqPath = "/usr/sbin/dnsmasq";

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private DnsmasqServer(string directory, int port, Process process)
    {
        Directory = directory;
        Endpoint = new IPEndPoint(IPAddress.Loopback, port);
        _process = process;
    }

    public string Directory { get; }
    public IPEndPoint Endpoint { get; }
    public string LogPath => Path.Combine(Directory, "dnsmasq.log");

    /// <param name="records">Configuration lines such as <c>mx-host=domain.test,mail.domain.test,10</c> and <c>host-record=mail.domain.test,127.0.0.1</c>.</param>
    public static async Task<DnsmasqServer> StartAsync(params string[] records)
    {
        ExternalTools.Require(DnsmasqPath);
        for (var attempt = 1; ; attempt++)
        {
            var directory = System.IO.Directory.CreateTempSubdirectory("dnstest.").FullName;
            var port = ExternalTools.FreePort();
            await File.WriteAllTextAsync(Path.Combine(directory, "dnsmasq.conf"), string.Join('\n', [
                $"port={port}",
                "listen-address=127.0.0.1",
                "bind-interfaces",
                "no-resolv",
                "no-hosts",
                "no-poll",
                "local=/test/",
                "log-queries",
                $"log-facility={Path.Combine(directory, "dnsmasq.log")}",
                .. records,
            ]) + "\n");
            var psi = new ProcessStartInfo(DnsmasqPath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { $"--conf-file={Path.Combine(directory, "dnsmasq.conf")}", "--keep-in-foreground", $"--pid-file={Path.Combine(directory, "dnsmasq.pid")}" })
                psi.ArgumentList.Add(arg);
            var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dnsmasq");
            var server = new DnsmasqServer(directory, port, process);
            process.ErrorDataReceived += (_, e) => { lock (server._stderr) server._stderr.AppendLine(e.Data); };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            if (await server.WaitUntilAnsweringAsync()) return server;

            var (exitCode, stderr) = (process.ExitCode, server.Stderr);
            await server.DisposeAsync();
            if (exitCode == 2 && attempt < 5) continue; // port taken (UDP side, or a race): another one
            throw new InvalidOperationException($"dnsmasq exited {exitCode} on port {port}: {stderr}");
        }
    }

    public string Stderr
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    /// <summary>Ready = it answers a query (NXDOMAIN for a name nobody defined); false if it exited first.</summary>
    private async Task<bool> WaitUntilAnsweringAsync()
    {
        var probe = new LookupClient(new LookupClientOptions(Endpoint)
        {
            UseCache = false, Timeout = TimeSpan.FromMilliseconds(200), Retries = 0, ThrowDnsErrors = false,
        });
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (_process.HasExited) return false;
            try
            {
                await probe.QueryAsync("ready.probe.test", QueryType.A);
                return true;
            }
            catch (DnsResponseException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"dnsmasq on port {Endpoint.Port} did not answer within 15 s: {Stderr}");
    }

    /// <summary>The query log so far (the first place to look when a lookup surprises).</summary>
    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // leave the temp dir rather than fail the test on cleanup
        }
    }
}
