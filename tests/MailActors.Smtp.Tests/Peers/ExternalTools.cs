using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace MailActors.Smtp.Tests.Peers;

/// <summary>Real third-party peers (swaks, Postfix): where they live and what is missing.</summary>
public static class ExternalTools
{
    /// <summary>CI sets MAILACTORS_REQUIRE_SERVICES=1: a missing tool then fails the test instead of skipping it.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("MAILACTORS_REQUIRE_SERVICES") == "1";

    /// <summary>The binaries of <paramref name="binaries"/> that do not exist, with the Debian package to install.</summary>
    public static string? Missing(params string[] binaries)
    {
        var missing = binaries.Where(b => !File.Exists(b)).ToList();
        if (missing.Count == 0) return null;
        var packages = missing.Select(PackageOf).Distinct();
        return $"{string.Join(", ", missing)} not installed; apt-get install {string.Join(' ', packages)}";
    }

    /// <summary>Throws with the install hint when a binary is missing (for fixtures that run even when CI requires them).</summary>
    public static void Require(params string[] binaries)
    {
        if (Missing(binaries) is { } reason) throw new InvalidOperationException(reason);
    }

    private static string PackageOf(string binary) => Path.GetFileName(binary) switch
    {
        "postfix" or "postdrop" or "postqueue" or "smtp-sink" or "smtp-source" => "postfix",
        "dnsmasq" => "dnsmasq-base",
        var name => name,
    };

    /// <summary>A loopback port nobody listens on right now (a tiny race with other processes is accepted).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Skips a test whose external tool is missing, unless MAILACTORS_REQUIRE_SERVICES=1 (then it runs and fails loudly).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(params string[] binaries)
    {
        Binaries = binaries;
        if (!ExternalTools.Required && ExternalTools.Missing(binaries) is { } reason) Skip = reason;
    }

    public string[] Binaries { get; }
}

/// <summary>Runs a program without a shell: arguments go through ArgumentList, so nothing is quoted or expanded.</summary>
public static class Sh
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static Task<(int ExitCode, string Output)> RunAsync(string file, params string[] args) =>
        RunAsync(file, args, stdin: null);

    /// <summary>Runs <paramref name="file"/> to completion; the output is stdout followed by stderr.</summary>
    /// <exception cref="TimeoutException">The program ran longer than <paramref name="timeout"/>; it was killed.</exception>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close(); // EOF: nothing waits for a prompt's answer
        }
        catch (IOException)
        {
            // The program exited without reading its input; its exit code tells the story.
        }

        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"{Describe(file, psi.ArgumentList)} did not finish within {limit.TotalSeconds:0.#} s; output so far:\n{await Drain(stdout, stderr)}");
        }
        return (process.ExitCode, await Drain(stdout, stderr));
    }

    /// <summary>The output of an exited program; a daemon it forked may still hold the pipes, so don't wait for EOF forever.</summary>
    private static async Task<string> Drain(Task<string> stdout, Task<string> stderr)
    {
        await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(5)));
        return (stdout.IsCompletedSuccessfully ? stdout.Result : "(stdout still open)\n") +
               (stderr.IsCompletedSuccessfully ? stderr.Result : "(stderr still open)\n");
    }

    public static string Describe(string file, IEnumerable<string> args) =>
        string.Join(' ', new[] { file }.Concat(args).Select(a => a.Length == 0 || a.Any(char.IsWhiteSpace) ? $"'{a}'" : a));
}
