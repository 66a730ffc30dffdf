using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailActors.Cluster;
using MailActors.Core;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MimeKit;
using Xunit;
using Xunit.Abstractions;

namespace MailActors.Node.Tests;

/// <summary>
/// An acknowledged message is never lost: SMTP clients stream mail into a real node process,
/// the node is killed with SIGKILL at a random moment, and after a restart every message that
/// got its 250 must be in the mailbox.
/// </summary>
public sealed class CrashSafetyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("mailactors-crash.").FullName;

    [Fact]
    public async Task Every_message_acknowledged_before_a_sigkill_survives_it()
    {
        var port = FreePort();
        var (code, text) = await NodeExecutable.RunAsync("user", "add", "alice@example.test", "--password", "correct horse battery", "--data-dir", _dataDir, "--domain", "example.test");
        Assert.True(code == 0, text);

        var acknowledged = new ConcurrentBag<string>();
        using (var node = await StartNodeAsync(port))
        {
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, 4).Select(s => Task.Run(async () =>
            {
                using var client = new SmtpClient();
                await client.ConnectAsync("127.0.0.1", port, MailKit.Security.SecureSocketOptions.None);
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var subject = $"crash-test {s}-{i}";
                    var message = new MimeMessage();
                    message.From.Add(MailboxAddress.Parse($"sender{s}@peer.test"));
                    message.To.Add(MailboxAddress.Parse("alice@example.test"));
                    message.Subject = subject;
                    message.Body = new TextPart("plain") { Text = $"message {i} from sender {s}\r\n" + new string('x', 2000) };
                    try
                    {
                        await client.SendAsync(message);
                    }
                    catch (Exception)
                    {
                        return; // the node died mid-transaction: this one was never acknowledged
                    }
                    acknowledged.Add(subject); // only after the 250
                }
            })).ToList();

            // Kill at a random moment once mail is flowing (a cold node JITs its first messages slowly).
            var flowing = DateTime.UtcNow.AddSeconds(60);
            while (acknowledged.Count < 20 && DateTime.UtcNow < flowing) await Task.Delay(50);
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, 1500)));
            Assert.Equal(0, NodeExecutable.Signal(node, NodeExecutable.SigKill)); // no shutdown hooks, no flushing
            await node.WaitForExitAsync();
            stop.Cancel();
            await Task.WhenAll(senders);
        }
        output.WriteLine($"{acknowledged.Count} messages acknowledged before SIGKILL");
        Assert.True(acknowledged.Count > 10, "the node should have accepted some mail before it was killed");

        // The node starts again on the same data directory after the crash…
        using (var node = await StartNodeAsync(port))
        {
            Assert.Equal(0, NodeExecutable.Signal(node, NodeExecutable.SigInt));
            await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        // …and every acknowledged message is there.
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMailActors(new MailActorsOptions { DataDirectory = _dataDir, LocalDomains = ["example.test"] });
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<MailboxClient>();
        var stored = new HashSet<string>();
        string? cursor = null;
        do
        {
            var page = await client.ListMessagesAsync("alice@example.test", SystemFolders.Inbox, limit: 200, cursor: cursor);
            foreach (var m in page.Items) stored.Add(m.Metadata.Subject);
            cursor = page.NextCursor;
        } while (cursor is not null);
        await host.StopAsync();

        var lost = acknowledged.Where(s => !stored.Contains(s)).ToList();
        Assert.True(lost.Count == 0, $"lost {lost.Count} acknowledged messages: {string.Join(", ", lost.Take(10))}");
        output.WriteLine($"{stored.Count} stored (acknowledged {acknowledged.Count}; the rest were in flight at the kill)");
    }

    private Task<Process> StartNodeAsync(int port) =>
        NodeExecutable.StartNodeAsync(null, "--data-dir", _dataDir, "--smtp-port", port.ToString(), "--http-port", "0", "--https-port", "0", "--submission-port", "0", "--submissions-port", "off", "--domain", "example.test", "--hostname", "mx.test");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
