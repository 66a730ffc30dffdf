using System.Diagnostics;
using Akka.Actor;
using MailActors.Cluster;
using MailActors.Cluster.Mailboxes;
using MailActors.Core;
using MailActors.Storage.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Bench;

/// <summary>Mailbox engine figures: delivery throughput, cold recovery, per-mailbox memory.</summary>
public static class MailboxBench
{
    private static readonly string[] Words = "the meeting is moved to thursday please find attached report regards quarterly numbers and let me know if you have questions invoice payment due thanks for your order shipping delivery tomorrow project update review budget team schedule call office client contract".Split(' ');
    private static readonly string Hash = PasswordHasher.Hash("benchmark password", PasswordHasher.MinIterations);

    /// <summary>Realistic metadata: 200 senders, 6-10 word subjects, 120-character snippets, some attachments.</summary>
    public static MessageMetadata Meta(Random rng, string to)
    {
        string Text(int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[rng.Next(Words.Length)]));
        var snippet = Text(30);
        var bytes = new byte[32];
        rng.NextBytes(bytes);
        return new MessageMetadata(
            BlobId.FromHash(bytes), rng.Next(5_000, 60_000), $"sender{rng.Next(200)}@example{rng.Next(20)}.com", [to], [],
            Text(rng.Next(6, 11)), DateTimeOffset.UtcNow, $"<{Guid.NewGuid():N}@example.com>",
            snippet[..Math.Min(120, snippet.Length)],
            rng.Next(10) == 0 ? [new AttachmentInfo("report.pdf", "application/pdf", 40_000)] : []);
    }

    public static string BodyText(Random rng)
    {
        var text = new System.Text.StringBuilder();
        while (text.Length < 2048) text.Append(Words[rng.Next(Words.Length)]).Append(rng.Next(10) == 0 ? ".\n" : " ");
        return text.ToString();
    }

    public static async Task<IHost> StartAsync(string dataDir, int snapshotEvery = 1000)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMailActors(new MailActorsOptions
        {
            DataDirectory = dataDir,
            AskTimeout = TimeSpan.FromSeconds(120),
            Mailbox = new MailboxSettings { SnapshotEvery = snapshotEvery, PassivateAfter = TimeSpan.FromHours(1) },
            Journal = new JournalOptions { SqlitePath = Path.Combine(dataDir, "mailactors.db") },
        });
        var host = builder.Build();
        await host.StartAsync();
        var cluster = Akka.Cluster.Cluster.Get(host.Services.GetRequiredService<ActorSystem>());
        while (cluster.SelfMember.Status != Akka.Cluster.MemberStatus.Up) await Task.Delay(50);
        return host;
    }

    public static async Task RegisterAsync(MailboxClient client, IEnumerable<string> users) =>
        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (u, _) =>
        {
            var reply = await client.SendAsync(new RegisterMailbox(MailboxId.Parse(u), Hash, u, 1L << 40));
            if (reply is not Done) throw new InvalidOperationException($"register {u}: {reply}");
        });

    /// <summary>Delivers count messages round-robin over the users with a bounded number in flight.</summary>
    public static async Task<double> DeliverAsync(MailboxClient client, IReadOnlyList<string> users, int count, int inFlight, string tag)
    {
        var metas = Enumerable.Range(0, 512).Select(i => Meta(new Random(i), users[0])).ToArray();
        // The body text the edge passes for the search index: ~2 KB of words, as in a short e-mail.
        var bodies = Enumerable.Range(0, 512).Select(i => BodyText(new Random(-i))).ToArray();
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = inFlight }, async (i, _) =>
        {
            var user = users[i % users.Count];
            await client.DeliverAsync(user, $"{tag}-{i}", metas[i % metas.Length], bodyText: bodies[i % bodies.Length]);
        });
        return count / sw.Elapsed.TotalSeconds;
    }

    public static async Task<string> ThroughputAsync(string workDir)
    {
        var lines = new List<string> { "| scenario | deliveries | in flight | deliveries/s |", "|---|---:|---:|---:|" };
        foreach (var (mailboxes, count) in new[] { (1000, 50_000), (1, 20_000) })
        {
            var dir = Path.Combine(workDir, $"deliver-{mailboxes}-{Guid.NewGuid():N}");
            using var host = await StartAsync(dir);
            var client = host.Services.GetRequiredService<MailboxClient>();
            var users = Enumerable.Range(0, mailboxes).Select(i => $"user{i}@localhost").ToList();
            await RegisterAsync(client, users);
            await DeliverAsync(client, users, Math.Min(5000, count / 4), 1000, "warmup");
            var rate = await DeliverAsync(client, users, count, 1000, "run");
            lines.Add($"| into {mailboxes:N0} mailbox{(mailboxes == 1 ? "" : "es")} | {count:N0} | 1,000 | {rate:N0} |");
            await host.StopAsync();
            Directory.Delete(dir, true);
        }
        return string.Join('\n', lines);
    }

    public static async Task<string> RecoveryAsync(string workDir, int messages = 100_000)
    {
        var dir = Path.Combine(workDir, $"recovery-{Guid.NewGuid():N}");
        const string user = "big@localhost";
        var fill = Stopwatch.StartNew();
        using (var host = await StartAsync(dir))
        {
            var client = host.Services.GetRequiredService<MailboxClient>();
            await RegisterAsync(client, [user]);
            await DeliverAsync(client, [user], messages, 2000, "fill");
            await host.StopAsync();
        }
        fill.Stop();
        var dbBytes = new FileInfo(Path.Combine(dir, "mailactors.db")).Length + (File.Exists(Path.Combine(dir, "mailactors.db-wal")) ? new FileInfo(Path.Combine(dir, "mailactors.db-wal")).Length : 0);

        var timings = new List<double>();
        var snapshotBytes = 0L;
        for (var run = 0; run < 5; run++)
        {
            using var host = await StartAsync(dir);
            var client = host.Services.GetRequiredService<MailboxClient>();
            await RegisterAsync(client, ["warm@localhost"]).ContinueWith(_ => { }); // journal + shard machinery up; ignore if exists
            var sw = Stopwatch.StartNew();
            var account = await client.GetAccountAsync(user);
            timings.Add(sw.Elapsed.TotalMilliseconds);
            if (account.MessageCount != messages) throw new InvalidOperationException($"recovered {account.MessageCount} messages, expected {messages}");
            snapshotBytes = SnapshotBytes(Path.Combine(dir, "mailactors.db"));
            await host.StopAsync();
        }
        var (readMs, decodeMs) = SnapshotBreakdown(Path.Combine(dir, "mailactors.db"));
        Directory.Delete(dir, true);
        timings.Sort();
        return $"""
            | mailbox | snapshot size | cold recovery, median of 5 (min–max) | of which: snapshot row read | snapshot decode |
            |---|---:|---:|---:|---:|
            | {messages:N0} messages (filled in {fill.Elapsed.TotalSeconds:N0} s, journal {dbBytes / 1048576.0:N0} MB) | {snapshotBytes / 1048576.0:N1} MB | {timings[2]:N0} ms ({timings[0]:N0}–{timings[^1]:N0} ms) | {readMs:N0} ms | {decodeMs:N0} ms |
            """;
    }

    public static async Task<string> MemoryAsync(string workDir, int messages = 10_000)
    {
        var dir = Path.Combine(workDir, $"memory-{Guid.NewGuid():N}");
        using var host = await StartAsync(dir);
        var client = host.Services.GetRequiredService<MailboxClient>();
        await RegisterAsync(client, ["warm@localhost"]);
        await client.ListFoldersAsync("warm@localhost");

        // Build the mailbox state directly (same Apply path as the actor) to measure what one mailbox holds.
        var accumulated = StateBytes(messages, TimeSpan.FromDays(730));
        var recent = StateBytes(messages, TimeSpan.FromHours(1));

        // And the whole live actor: register + deliver through the cluster, then measure the process heap.
        await RegisterAsync(client, ["live@localhost"]);
        await DeliverAsync(client, ["live@localhost"], messages, 500, "mem");
        var withActor = GC.GetTotalMemory(forceFullCollection: true);
        await host.StopAsync();
        Directory.Delete(dir, true);
        return $"""
            | what | {messages:N0}-message mailbox | per message |
            |---|---:|---:|
            | mailbox state, mail accumulated over 2 years (managed heap delta) | {accumulated / 1048576.0:N2} MB | {accumulated / messages:N0} B |
            | mailbox state, all mail delivered in the last hour (every delivery id still remembered) | {recent / 1048576.0:N2} MB | {recent / messages:N0} B |
            | whole process managed heap after the live actor received them | {withActor / 1048576.0:N1} MB | – |
            """;
    }

    private static long StateBytes(int messages, TimeSpan spread)
    {
        var rng = new Random(1);
        var metas = Enumerable.Range(0, messages).Select(_ => Meta(rng, "mem@localhost")).ToArray();
        var start = DateTimeOffset.UtcNow - spread;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var state = new MailboxState(MailboxId.Parse("mem@localhost"));
        state.Apply(new AccountRegistered(Hash, "Mem", 1L << 40, start, 1));
        for (var i = 1; i <= messages; i++)
            state.Apply(new MessageDelivered($"smtp-{Guid.NewGuid()}", i, SystemFolders.Inbox, (uint)i, start + spread * i / messages, MessageFlags.None, metas[i - 1]));
        // The inputs stay alive across both readings, so the delta is the state alone.
        var bytes = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(state);
        GC.KeepAlive(metas);
        return bytes;
    }

    /// <summary>Median time to read the snapshot row from SQLite and to decode it, measured apart from the actor.</summary>
    private static (double ReadMs, double DecodeMs) SnapshotBreakdown(string db)
    {
        var reads = new List<double>();
        var decodes = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            byte[] data;
            using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db}"))
            {
                c.Open();
                using var cmd = c.CreateCommand();
                cmd.CommandText = "SELECT snapshot FROM snapshot ORDER BY length(snapshot) DESC LIMIT 1";
                data = (byte[])cmd.ExecuteScalar()!;
            }
            reads.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            MailboxState.FromSnapshot(new MailboxSnapshot(data));
            decodes.Add(sw.Elapsed.TotalMilliseconds);
        }
        reads.Sort();
        decodes.Sort();
        return (reads[2], decodes[2]);
    }

    private static long SnapshotBytes(string db)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT coalesce(max(length(snapshot)),0) FROM snapshot";
        return (long)cmd.ExecuteScalar()!;
    }
}
