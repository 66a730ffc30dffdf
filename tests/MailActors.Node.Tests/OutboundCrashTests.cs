using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;
using Xunit.Abstractions;

namespace MailActors.Node.Tests;

/// <summary>
/// Mail accepted for remote delivery is never lost: submitted messages wait in the queue
/// (their smart host is down), the node is SIGKILLed, and after a restart every one of them
/// reaches the smart host once it is up.
/// </summary>
public sealed class OutboundCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("mailactors-outcrash.").FullName;

    [Fact]
    public async Task Queued_mail_survives_a_sigkill_and_is_delivered_after_the_restart()
    {
        var (code, text) = await NodeExecutable.RunAsync("user", "add", "alice@example.test", "--password", "correct horse battery", "--data-dir", _dataDir, "--domain", "example.test");
        Assert.True(code == 0, text);
        var submissionPort = FreePort();
        var smartHostPort = FreePort(); // nothing listens there yet: deliveries fail and wait

        const int count = 10;
        using (var node = await StartNodeAsync(submissionPort, smartHostPort))
        {
            using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
            await client.ConnectAsync("127.0.0.1", submissionPort, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync("alice@example.test", "correct horse battery");
            for (var i = 0; i < count; i++)
            {
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("alice@example.test"));
                message.To.Add(MailboxAddress.Parse($"friend{i}@remote.test"));
                message.Subject = $"queued {i}";
                message.Body = new TextPart("plain") { Text = "see you" };
                await client.SendAsync(message); // 250 = durably queued
            }
            await client.DisconnectAsync(true);
            Assert.Equal(0, NodeExecutable.Signal(node, NodeExecutable.SigKill));
            await node.WaitForExitAsync();
        }

        await using var smartHost = new RecordingSmtpServer(smartHostPort);
        using (var node = await StartNodeAsync(submissionPort, smartHostPort))
        {
            // Don't wait out the backoff: the admin command joins the running node and retries now.
            var (retryCode, retryText) = await NodeExecutable.RunAsync("queue", "retry", "remote.test", "--data-dir", _dataDir, "--domain", "example.test");
            Assert.True(retryCode == 0, retryText);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (smartHost.Subjects.Count < count && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.Equal(Enumerable.Range(0, count).Select(i => $"queued {i}").Order(), smartHost.Subjects.Order());
            Assert.Equal(0, NodeExecutable.Signal(node, NodeExecutable.SigInt));
            await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        output.WriteLine($"{smartHost.Subjects.Count} delivered after the restart");
    }

    private Task<Process> StartNodeAsync(int submissionPort, int smartHostPort) =>
        NodeExecutable.StartNodeAsync(null, "--data-dir", _dataDir, "--domain", "example.test", "--hostname", "mx.test",
            "--smtp-port", "0", "--http-port", "0", "--https-port", "off", "--submission-port", submissionPort.ToString(), "--submissions-port", "off",
            "--smart-host", $"127.0.0.1:{smartHostPort}");

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

    /// <summary>The smallest SMTP receiver that accepts everything and remembers each message's subject.</summary>
    private sealed class RecordingSmtpServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        public RecordingSmtpServer(int port)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public ConcurrentBag<string> Subjects { get; } = [];

        private async Task AcceptAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var socket = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = Task.Run(() => ServeAsync(socket));
                }
            }
            catch (OperationCanceledException) { }
        }

        private async Task ServeAsync(TcpClient socket)
        {
            using var _ = socket;
            await using var stream = socket.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII);
            await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 sink.test ESMTP");
            try
            {
                while (await reader.ReadLineAsync() is { } line)
                {
                    var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO": await writer.WriteLineAsync("250 sink.test"); break;
                        case "DATA":
                            await writer.WriteLineAsync("354 go ahead");
                            string? subject = null;
                            while (await reader.ReadLineAsync() is { } data && data != ".")
                                if (data.StartsWith("Subject: ", StringComparison.Ordinal)) subject ??= data[9..];
                            if (subject is not null) Subjects.Add(subject);
                            await writer.WriteLineAsync("250 2.0.0 Ok");
                            break;
                        case "QUIT": await writer.WriteLineAsync("221 bye"); return;
                        default: await writer.WriteLineAsync("250 Ok"); break;
                    }
                }
            }
            catch (IOException) { }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
        }
    }
}
