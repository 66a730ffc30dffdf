using System.Diagnostics;
using System.Globalization;
using System.Text;
using MailActors.Storage.Blobs;

namespace MailActors.Bench;

/// <summary>
/// Blob store throughput against a baseline in the same run: writing each message to its own
/// fsynced file, with no hashing, compression, rename or directory fsync.
/// </summary>
public static class BlobStoreBench
{
    private const int Concurrency = 16;

    private static readonly string[] Words =
    [
        "the", "a", "meeting", "is", "moved", "to", "Thursday", "please", "find", "attached", "report",
        "regards", "quarterly", "numbers", "and", "let", "me", "know", "if", "you", "have", "questions",
        "invoice", "payment", "due", "thanks", "for", "your", "order", "shipping", "delivery", "tomorrow",
        "project", "update", "review", "budget", "team", "schedule", "call", "office", "client", "contract",
    ];

    public static async Task<string> RunAsync(string workDir, int count = 2000, int sizeBytes = 50 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeBytes, 1);

        var root = Path.Combine(Path.GetFullPath(workDir), $"blobbench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        try
        {
            var messages = new byte[count][];
            for (var i = 0; i < count; i++) messages[i] = MailMessage(i, sizeBytes);
            var totalBytes = (long)count * sizeBytes;

            var baselineDir = Directory.CreateDirectory(Path.Combine(root, "baseline")).FullName;
            var baselineParallelDir = Directory.CreateDirectory(Path.Combine(root, "baseline-parallel")).FullName;
            var sequentialStore = new FileBlobStore(Path.Combine(root, "store-sequential"));
            var parallelStore = new FileBlobStore(Path.Combine(root, "store-parallel"));
            var ids = new MailActors.Core.BlobId[count];

            var plainWrite = await MeasureAsync("plain file write + fsync (baseline), sequential", count, 1, i =>
            {
                PlainWrite(Path.Combine(baselineDir, $"{i}.eml"), messages[i]);
                return Task.CompletedTask;
            });

            var plainWriteParallel = await MeasureAsync($"plain file write + fsync, {Concurrency} writers", count, Concurrency, i =>
            {
                PlainWrite(Path.Combine(baselineParallelDir, $"{i}.eml"), messages[i]);
                return Task.CompletedTask;
            });

            var putSequential = await MeasureAsync("FileBlobStore.PutAsync, sequential", count, 1, async i =>
            {
                var result = await sequentialStore.PutAsync(new MemoryStream(messages[i], writable: false)).ConfigureAwait(false);
                ids[i] = result.Id;
            });

            var putDuplicate = await MeasureAsync("FileBlobStore.PutAsync of already-stored content (deduplicated), sequential", count, 1, async i =>
            {
                var result = await sequentialStore.PutAsync(new MemoryStream(messages[i], writable: false)).ConfigureAwait(false);
                if (!result.Deduplicated) throw new InvalidOperationException($"message {i} was stored twice");
            });

            var putParallel = await MeasureAsync($"FileBlobStore.PutAsync, {Concurrency} writers", count, Concurrency, async i =>
            {
                await parallelStore.PutAsync(new MemoryStream(messages[i], writable: false)).ConfigureAwait(false);
            });

            var plainRead = await MeasureAsync("plain file read (baseline for reads), sequential", count, 1, async i =>
            {
                var stream = new FileStream(Path.Combine(baselineDir, $"{i}.eml"), FileMode.Open, FileAccess.Read,
                    FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
                await using (stream.ConfigureAwait(false))
                    await stream.CopyToAsync(Stream.Null).ConfigureAwait(false);
            });

            var read = await MeasureAsync("FileBlobStore.OpenReadAsync + read to end (verified), sequential", count, 1, async i =>
            {
                var stream = await sequentialStore.OpenReadAsync(ids[i]).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                    await stream.CopyToAsync(Stream.Null).ConfigureAwait(false);
            });

            var storedBytes = Directory.EnumerateFiles(Path.Combine(root, "store-sequential"), "*.zst", SearchOption.AllDirectories)
                .Sum(f => new FileInfo(f).Length);

            var table = new StringBuilder();
            table.AppendLine(CultureInfo.InvariantCulture,
                $"Blob store: {count} distinct mail-like messages of {sizeBytes:N0} bytes, zstd level 3, every write fsynced.");
            table.AppendLine();
            table.AppendLine("| operation | messages/s | MB/s | median ms/message | ratio to baseline |");
            table.AppendLine("|---|---:|---:|---:|---:|");
            AppendRow(table, plainWrite, totalBytes, plainWrite);
            AppendRow(table, plainWriteParallel, totalBytes, plainWrite);
            AppendRow(table, putSequential, totalBytes, plainWrite);
            AppendRow(table, putParallel, totalBytes, plainWrite);
            AppendRow(table, putDuplicate, totalBytes, plainWrite);
            AppendRow(table, plainRead, totalBytes, plainRead);
            AppendRow(table, read, totalBytes, plainRead);
            table.AppendLine();
            table.AppendLine(CultureInfo.InvariantCulture,
                $"MB = 10^6 bytes of uncompressed message content. Writes are compared with the sequential plain write, reads with the plain read (page cache warm for both). " +
                $"Stored size: {storedBytes:N0} bytes for {totalBytes:N0} bytes of content ({(double)storedBytes / totalBytes:P1}, header included). " +
                $"Concurrent rows: {Concurrency} writers on {Environment.ProcessorCount} cores; median latency is per message as seen by its writer. " +
                $"A fresh store creates a fan-out directory (and fsyncs its parents) for almost every message here ({count} messages over 65,536 directories); " +
                $"a store that already holds many messages mostly skips that.");
            return table.ToString();
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { /* leave it for the caller to clean */ }
        }
    }

    private static void PlainWrite(string path, byte[] message)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        file.Write(message);
        file.Flush(flushToDisk: true);
    }

    private sealed record Measurement(string Operation, int Count, TimeSpan Elapsed, double MedianMs);

    private static async Task<Measurement> MeasureAsync(string operation, int count, int concurrency, Func<int, Task> action)
    {
        var latencies = new double[count];
        var next = -1;
        var total = Stopwatch.StartNew();

        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                await action(i).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }

        if (concurrency == 1)
            await Worker().ConfigureAwait(false);
        else
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Worker))).ConfigureAwait(false);

        total.Stop();
        Array.Sort(latencies);
        var median = count % 2 == 1 ? latencies[count / 2] : (latencies[count / 2 - 1] + latencies[count / 2]) / 2;
        return new Measurement(operation, count, total.Elapsed, median);
    }

    private static void AppendRow(StringBuilder table, Measurement m, long totalBytes, Measurement baseline)
    {
        var perSecond = m.Count / m.Elapsed.TotalSeconds;
        var megabytesPerSecond = totalBytes / 1e6 / m.Elapsed.TotalSeconds;
        var ratio = perSecond / (baseline.Count / baseline.Elapsed.TotalSeconds);
        table.AppendLine(CultureInfo.InvariantCulture,
            $"| {m.Operation} | {perSecond:N0} | {megabytesPerSecond:N1} | {m.MedianMs:N2} | {ratio:N2}× |");
    }

    /// <summary>A distinct, compressible, mail-like message of exactly <paramref name="size"/> bytes.</summary>
    private static byte[] MailMessage(int index, int size)
    {
        var random = new Random(index);
        var text = new StringBuilder(size + 256);
        text.Append(CultureInfo.InvariantCulture,
            $"From: sender{index}@example.com\r\nTo: recipient{index % 97}@example.org\r\n" +
            $"Subject: message {index}\r\nMessage-ID: <{index}.{random.Next()}@example.com>\r\n\r\n");
        var lineLength = 0;
        while (text.Length < size)
        {
            var word = Words[random.Next(Words.Length)];
            text.Append(word);
            lineLength += word.Length + 1;
            if (lineLength > 70)
            {
                text.Append("\r\n");
                lineLength = 0;
            }
            else
            {
                text.Append(' ');
            }
        }
        return Encoding.ASCII.GetBytes(text.ToString(0, size));
    }
}
