using System.Net.Http.Json;
using Xunit;

namespace MailActors.Node.Tests;

/// <summary>The node executable as a user starts it: run, add and list users from a second process, Ctrl+C.</summary>
public sealed class NodeProcessTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("mailactors-node.").FullName;

    [Fact]
    public async Task Admin_commands_reach_a_running_node_and_ctrl_c_stops_it_cleanly()
    {
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var node = await NodeExecutable.StartNodeAsync(output.Enqueue, "--data-dir", _dataDir, "--domain", "example.test", "--smtp-port", "0", "--http-port", "0", "--https-port", "0", "--submission-port", "0", "--submissions-port", "off");
        Assert.True(output.Any(l => l.Contains("SQLite " + Path.Combine(_dataDir, "mailactors.db"))), string.Join('\n', output));

        // The HTTP API is up on the port the banner names: sign up and log in through it.
        var httpLine = output.First(l => l.TrimStart().StartsWith("http ", StringComparison.Ordinal));
        var port = System.Text.RegularExpressions.Regex.Match(httpLine, @"http://[^:/]+:(\d+)").Groups[1].Value;
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
            var credentials = new { address = "dave@example.test", password = "correct horse battery" };
            Assert.Equal(System.Net.HttpStatusCode.Created, (await http.PostAsJsonAsync("/v1/auth/signup", credentials)).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.PostAsJsonAsync("/v1/auth/login", credentials)).StatusCode);
        }

        var (addCode, addOut) = await NodeExecutable.RunAsync("user", "add", "Carol@Example.test", "--password", "correct horse battery", "--name", "Carol", "--data-dir", _dataDir);
        Assert.True(addCode == 0, addOut);
        Assert.Contains("created carol@example.test", addOut);

        var (dupCode, dupOut) = await NodeExecutable.RunAsync("user", "add", "carol@example.test", "--password", "correct horse battery", "--data-dir", _dataDir);
        Assert.Equal(1, dupCode);
        Assert.Contains("already registered", dupOut);

        var (listCode, listOut) = await NodeExecutable.RunAsync("user", "list", "--data-dir", _dataDir);
        Assert.Equal(0, listCode);
        Assert.Contains("carol@example.test", listOut);
        Assert.Contains("dave@example.test", listOut);
        Assert.Contains("2 mailbox(es)", listOut);

        // Another node on the same data directory is refused.
        var (secondCode, secondOut) = await NodeExecutable.RunAsync("--data-dir", _dataDir);
        Assert.Equal(1, secondCode);
        Assert.Contains("another node is running", secondOut);

        Assert.Equal(0, NodeExecutable.Signal(node, NodeExecutable.SigInt)); // Ctrl+C
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, node.ExitCode);

        // After the node stopped, the admin command opens the data directory itself.
        var (afterCode, afterOut) = await NodeExecutable.RunAsync("user", "list", "--data-dir", _dataDir);
        Assert.Equal(0, afterCode);
        Assert.Contains("carol@example.test", afterOut);
    }

    [Fact]
    public async Task Unknown_arguments_print_usage_and_fail()
    {
        var (code, output) = await NodeExecutable.RunAsync("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("usage:", output);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
