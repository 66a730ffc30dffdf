using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailActors.Cluster;
using MailActors.Cluster.Outbound;
using MailActors.Core.Outbound;
using MailActors.Smtp.Outbound;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Bench;

/// <summary>
/// Outbound messages/s: 50 KB messages enqueued into the durable queue (SQLite, fsync on)
/// for 100 destination domains and delivered over SMTP by the real egress (MailKit, pooled
/// connections) to Postfix's smtp-sink as the smart host. A message counts once the sink
/// answered 250 and the queue has persisted the attempt.
/// </summary>
public static class OutboundBench
{
    public static async Task<string> RunAsync(string workDir, int messages = 5000, int size = 50 * 1024)
    {
        if (!File.Exists("/usr/sbin/smtp-sink")) return "skipped: /usr/sbin/smtp-sink missing (apt-get install postfix)";
        var port = FreePort();
        using var sink = Process.Start(new ProcessStartInfo("/usr/sbin/smtp-sink", $"-u nobody 127.0.0.1:{port} 1000")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        await WaitForPortAsync(port);
        try
        {
            var dir = Path.Combine(workDir, "outbound-" + Guid.NewGuid().ToString("N")[..8]);
            var counter = new CountingTransport();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddMailActors(new MailActorsOptions { DataDirectory = dir, LocalDomains = ["bench.test"] });
            builder.Services.AddSmtpEgress(new EgressOptions
            {
                HeloName = "mx.bench.test",
                SmartHost = new SmartHost("127.0.0.1", port),
                MaxConnectionsPerHost = 32,
            }, new DnsOptions());
            builder.Services.AddSingleton<IOutboundTransport>(sp => counter.Wrap(new EgressStream(
                sp.GetRequiredService<Akka.Actor.ActorSystem>(), sp.GetRequiredService<EgressTransport>(), 64)));
            using var host = builder.Build();
            await host.StartAsync();
            var blobs = host.Services.GetRequiredService<IBlobStore>();
            var body = new string('x', 76) + "\r\n";
            var raw = "From: sender@bench.test\r\nTo: someone@example.test\r\nSubject: outbound bench\r\nMessage-ID: <b@bench.test>\r\n\r\n"
                      + string.Concat(Enumerable.Repeat(body, size / body.Length));
            var blob = await blobs.PutAsync(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(raw)));
            var outbound = host.Services.GetRequiredService<OutboundClient>();

            // Warm-up: JIT, connections, shard allocation for every domain.
            await RunRoundAsync(outbound, counter, blob, 300, "warm");
            var rounds = new List<(double Enqueue, double EndToEnd)>();
            for (var r = 0; r < 3; r++) rounds.Add(await RunRoundAsync(outbound, counter, blob, messages, $"r{r}"));
            await host.StopAsync();

            var median = rounds.OrderBy(x => x.EndToEnd).ElementAt(1);
            return $"""
                | messages | size | enqueue msg/s (durable) | end-to-end outbound msg/s (delivered to smtp-sink) |
                |---:|---:|---:|---:|
                {string.Join("\n", rounds.Select(x => $"| {messages} | {size / 1024} KB | {x.Enqueue:N0} | {x.EndToEnd:N0} |"))}

                median end-to-end: {median.EndToEnd:N0} msg/s (target ≥ 2,000/s)
                """;
        }
        finally
        {
            sink.Kill();
        }
    }

    private static async Task<(double Enqueue, double EndToEnd)> RunRoundAsync(OutboundClient outbound, CountingTransport counter, BlobWriteResult blob, int messages, string round)
    {
        counter.Reset();
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, messages), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            await outbound.EnqueueAsync($"{round}-{i}", "sender@bench.test", [$"user{i}@d{i % 100}.test"], blob.Id, blob.Size, DateTimeOffset.UtcNow, ct));
        var enqueued = Stopwatch.GetElapsedTime(started).TotalSeconds;
        while (counter.Delivered < messages)
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(10)) throw new TimeoutException($"only {counter.Delivered} of {messages} delivered");
            await Task.Delay(20);
        }
        var total = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (messages / enqueued, messages / total);
    }

    private sealed class CountingTransport
    {
        private int _delivered;
        public int Delivered => Volatile.Read(ref _delivered);
        public void Reset() => Interlocked.Exchange(ref _delivered, 0);

        public IOutboundTransport Wrap(IOutboundTransport inner) => new Counting(inner, this);

        private sealed class Counting(IOutboundTransport inner, CountingTransport counter) : IOutboundTransport
        {
            public async Task<IReadOnlyList<RecipientAttempt>> DeliverAsync(string domain, OutboundMessage message, IReadOnlyList<string> recipients, CancellationToken ct)
            {
                var results = await inner.DeliverAsync(domain, message, recipients, ct);
                Interlocked.Add(ref counter._delivered, results.Count(r => r.Outcome == AttemptOutcome.Delivered));
                return results;
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("smtp-sink did not start");
    }
}
