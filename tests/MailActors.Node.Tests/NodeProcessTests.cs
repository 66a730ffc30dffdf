using System.Diagnostics;
using System.Runtime.InteropServices;
using Xunit;

namespace MailActors.Node.Tests;

/// <summary>The node executable as a user starts it: run, add and list users from a second process, Ctrl+C.</summary>
public sealed class NodeProcessTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("mailactors-node.").FullName;
    private static readonly string NodeDll = Path.Combine(AppContext.BaseDirectory, "MailActors.Node.dll");

    [Fact]
    public async Task Admin_commands_reach_a_running_node_and_ctrl_c_stops_it_cleanly()
    {
        using var node = Start("--data-dir", _dataDir, "--domain", "example.test");
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var up = new TaskCompletionSource();
        node.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (e.Data.Contains("Press Ctrl+C to stop.")) up.TrySetResult();
        };
        node.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(output.Any(l => l.Contains("SQLite " + Path.Combine(_dataDir, "mailactors.db"))), string.Join('\n', output));

        var (addCode, addOut) = await RunAsync("user", "add", "Carol@Example.test", "--password", "correct horse battery", "--name", "Carol", "--data-dir", _dataDir);
        Assert.True(addCode == 0, addOut);
        Assert.Contains("created carol@example.test", addOut);

        var (dupCode, dupOut) = await RunAsync("user", "add", "carol@example.test", "--password", "correct horse battery", "--data-dir", _dataDir);
        Assert.Equal(1, dupCode);
        Assert.Contains("already registered", dupOut);

        var (listCode, listOut) = await RunAsync("user", "list", "--data-dir", _dataDir);
        Assert.Equal(0, listCode);
        Assert.Contains("carol@example.test", listOut);
        Assert.Contains("1 mailbox(es)", listOut);

        // Another node on the same data directory is refused.
        var (secondCode, secondOut) = await RunAsync("--data-dir", _dataDir);
        Assert.Equal(1, secondCode);
        Assert.Contains("another node is running", secondOut);

        Assert.Equal(0, kill(node.Id, 2)); // SIGINT = Ctrl+C
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, node.ExitCode);

        // After the node stopped, the admin command opens the data directory itself.
        var (afterCode, afterOut) = await RunAsync("user", "list", "--data-dir", _dataDir);
        Assert.Equal(0, afterCode);
        Assert.Contains("carol@example.test", afterOut);
    }

    [Fact]
    public async Task Unknown_arguments_print_usage_and_fail()
    {
        var (code, output) = await RunAsync("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("usage:", output);
    }

    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(NodeDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var p = Start(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        return (p.ExitCode, await stdout + await stderr);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
