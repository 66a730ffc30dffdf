using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using MailActors.Smtp.Tests.Peers;

namespace MailActors.Smtp.Tests.Outbound;

/// <summary>
/// Postfix's smtp-sink on a loopback address: takes mail, keeps each message as a file, counts sessions,
/// and fails chosen commands on request.
/// </summary>
/// <remarks>
/// Facts this relies on (Postfix 3.7 smtp-sink, Debian 12):
/// <list type="bullet">
/// <item>As root it needs <c>-u user</c>; it then opens dump files as that user, so the dump dir is world-writable.</item>
/// <item><c>-d DIR/%M.</c>: one file per message: smtp-sink's X-Mail-Args/X-Rcpt-Args/Received lines, then the message
/// as received with LF line ends, then an empty line.</item>
/// <item><c>-c</c> prints "sess=N quit=N mesg=N" followed by CR whenever a session ends, QUIT is run or "." arrives.</item>
/// <item><c>-f CMD</c> answers CMD with 5xx (text from <c>-B</c>), <c>-r CMD</c> with 4xx ("450 4.3.0 Error: command failed";
/// CONNECT = the greeting), <c>-q CMD</c> drops the connection without a reply. <c>-f</c>/<c>-r</c> turn PIPELINING off.</item>
/// <item><c>-t S</c>: a session idle for S seconds is closed by the sink.</item>
/// </list>
/// </remarks>
public sealed partial class SmtpSink : IAsyncDisposable
{
    public const string SmtpSinkPath = "/usr/sbin/smtp-sink";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SmtpSink(string address, int port, string dumpDirectory, Process process)
    {
        Address = address;
        Port = port;
        DumpDirectory = dumpDirectory;
        _process = process;
    }

    public string Address { get; }
    public int Port { get; }
    public string DumpDirectory { get; }

    /// <summary>Starts smtp-sink on <paramref name="address"/>:<paramref name="port"/> (a free port when 0) with extra <paramref name="options"/>.</summary>
    public static async Task<SmtpSink> StartAsync(string address = "127.0.0.1", int port = 0, params string[] options)
    {
        ExternalTools.Require(SmtpSinkPath);
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("smtp-sink runs on Linux");
        if (port == 0) port = ExternalTools.FreePort();
        // /tmp explicitly, not $TMPDIR: the -u user must be able to traverse every parent directory.
        var dump = Path.Combine("/tmp", "sinktest." + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dump);
        File.SetUnixFileMode(dump, (UnixFileMode)0b111_111_111);

        var psi = new ProcessStartInfo(SmtpSinkPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = [
            "-c",
            .. Environment.IsPrivilegedProcess ? new[] { "-u", "nobody" } : [],
            "-d", Path.Combine(dump, "%M."),
            .. options,
            $"{address}:{port}", "100",
        ];
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start smtp-sink");
        var sink = new SmtpSink(address, port, dump, process);
        process.OutputDataReceived += (_, e) => sink.Append(e.Data); // ReadLine splits on CR too: one counter line each
        process.ErrorDataReceived += (_, e) => sink.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await sink.WaitUntilListeningAsync();
            return sink;
        }
        catch
        {
            await sink.DisposeAsync();
            throw;
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>The sink's latest counters (0/0/0 before the first update).</summary>
    public (int Sessions, int Quits, int Messages) Counters
    {
        get
        {
            var last = CounterLine().Matches(Output).LastOrDefault();
            return last is null ? (0, 0, 0) : (Int(last, 1), Int(last, 2), Int(last, 3));
            static int Int(Match m, int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
        }
    }

    [GeneratedRegex(@"sess=(\d+) quit=(\d+) mesg=(\d+)")]
    private static partial Regex CounterLine();

    /// <summary>Waits until <paramref name="done"/> holds for the counters; returns them either way after <paramref name="timeout"/>.</summary>
    public async Task<(int Sessions, int Quits, int Messages)> WaitForCountersAsync(Func<(int Sessions, int Quits, int Messages), bool> done, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!done(Counters) && clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(10))) await Task.Delay(20);
        return Counters;
    }

    /// <summary>The dumped messages (smtp-sink's own header lines included), oldest first, once <paramref name="count"/> exist.</summary>
    public async Task<IReadOnlyList<string>> WaitForMessagesAsync(int count, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (System.IO.Directory.GetFiles(DumpDirectory).Length < count && clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(10))) await Task.Delay(20);
        // The counter moves once "." has been handled, i.e. when the sink is done with the file.
        await WaitForCountersAsync(c => c.Messages >= count, TimeSpan.FromSeconds(2));
        return System.IO.Directory.GetFiles(DumpDirectory).Select(f => new FileInfo(f)).OrderBy(f => f.LastWriteTimeUtc)
            .Select(f => File.ReadAllText(f.FullName)).ToList();
    }

    public int DumpedMessageCount => System.IO.Directory.GetFiles(DumpDirectory).Length;

    /// <summary>It greets: connect, read the banner, QUIT. This probe is the counters' first session.</summary>
    private async Task WaitUntilListeningAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"smtp-sink exited {_process.ExitCode}: {Output}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(Address, Port);
                using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
                var banner = await reader.ReadLineAsync();
                await client.GetStream().WriteAsync("QUIT\r\n"u8.ToArray());
                await reader.ReadLineAsync();
                if (banner is not null) break;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }
        }
        await WaitForCountersAsync(c => c.Sessions >= 1);
    }

    /// <summary>Kills the sink and reads its output to the end: <see cref="Counters"/> are final afterwards.</summary>
    public async Task StopAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            await _process.WaitForExitAsync(); // also waits for the redirected output to reach EOF
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(DumpDirectory, recursive: true);
        }
        catch (IOException)
        {
            // leave the temp dir rather than fail the test on cleanup
        }
    }
}
