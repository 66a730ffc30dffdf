using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MailActors.Node.Tests;

/// <summary>The built MailActors.Node executable, started the way a user starts it.</summary>
internal static class NodeExecutable
{
    public static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "MailActors.Node.dll");

    public static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Starts a node and returns once it printed its banner; every output line goes to <paramref name="output"/>.</summary>
    public static async Task<Process> StartNodeAsync(Action<string>? output, params string[] args)
    {
        var node = Start(args);
        var up = new TaskCompletionSource();
        node.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output?.Invoke(e.Data);
            if (e.Data.Contains("Press Ctrl+C to stop.")) up.TrySetResult();
        };
        node.ErrorDataReceived += (_, e) => { if (e.Data is not null) output?.Invoke(e.Data); };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return node;
    }

    /// <summary>Runs a command to completion: exit code and stdout + stderr.</summary>
    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var p = Start(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        return (p.ExitCode, await stdout + await stderr);
    }

    public const int SigInt = 2;
    public const int SigKill = 9;

    public static int Signal(Process process, int signal) => kill(process.Id, signal);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
