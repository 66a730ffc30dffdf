using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Core.Search;
using MailActors.Mime;
using MailActors.Storage.Blobs;
using MailKit;
using MailKit.Net.Imap;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MimeKit;
using ImapQuery = MailKit.Search.SearchQuery;

namespace MailActors.Bench.Search;

/// <summary>
/// Per-user search (issue "per-user search"): one mailbox of N realistic ~50 KB messages
/// (<see cref="SearchCorpus"/>), delivered into MailActors the way the SMTP edge does, and the
/// same bytes as a Maildir served by Dovecot without an FTS plugin — the stack most admins
/// would run instead. Reports indexing throughput, index size, and per query kind the p50/p99
/// latency and hit counts on both, with the Dovecot / MailActors ratio.
/// </summary>
public static class SearchBench
{
    private const int InFlight = 16;
    private const int PageLimit = 50;
    private const int OurRuns = 200;
    private const int PagingLimit = 200; // SearchMessages.MaxLimit, for counting all hits
    private static readonly TimeSpan ImapBudgetPerKind = TimeSpan.FromSeconds(20);
    private const string ImapPassword = "bench-password";

    /// <summary>A query kind: the same search in our syntax and as an IMAP SEARCH key, once per term.</summary>
    private sealed record QueryKind(string Name, IReadOnlyList<string> Ours, IReadOnlyList<ImapQuery> Imap, IReadOnlyList<string> ImapText, bool ImapBody)
    {
        public int Terms => Ours.Count;
    }

    private sealed record Latency(double P50, double P99, int Runs)
    {
        public static Latency Of(List<double> ms)
        {
            ms.Sort();
            return new Latency(ms[(ms.Count - 1) / 2], ms[Math.Max(0, (int)Math.Ceiling(0.99 * ms.Count) - 1)], ms.Count);
        }
    }

    /// <summary>Our latencies, and per term (in term order) the hits on the first page and in all pages.</summary>
    private sealed record OurResult(Latency? Latency, int[] PageHits, int[] AllHits, double AllPagesMs, string? Error)
    {
        public static OurResult Failed(string error) => new(null, [], [], 0, error);
    }

    /// <summary>Dovecot's latencies and the hits of the first <c>Hits.Length</c> terms (each one's first timed run).</summary>
    private sealed record ImapResult(Latency Latency, double FirstRunMs, int[] Hits);

    private sealed record DovecotResult(TimeSpan FirstSelect, TimeSpan Select, long IndexBytes, int Unseen, Dictionary<string, ImapResult> Results);

    private sealed record IndexFigures(
        double DeliveriesPerSecond, TimeSpan DeliveryTime,
        double AddPerSecond, TimeSpan AddTime,
        long ApproximateBytes, long SerializedBytes, TimeSpan SerializeTime,
        SearchStatsReply? Stats, string? StatsError)
    {
        public ColdStart? Restart { get; init; }
        public SearchStatsReply? Settled { get; init; }
        public TimeSpan SettleTime { get; init; }
    }

    /// <summary>
    /// After a node restart: the mailbox's recovery (journal + snapshot, no index read), the first
    /// search (loads every segment from the blob store), the next one, and the index's size then —
    /// in memory, serialized, and as compressed files in the blob store.
    /// </summary>
    private sealed record ColdStart(double RecoveryMs, double FirstSearchMs, double SecondSearchMs, SearchStatsReply Stats, long SegmentFileBytes);

    public static async Task<string> RunAsync(string workDir, IReadOnlyList<int> sizes, bool withDovecot = true)
    {
        // stdout is the report: Akka's standard-out logger writes to stderr while the nodes run.
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        try
        {
            var sections = new List<string>();
            foreach (var n in sizes) sections.Add(await RunSizeAsync(workDir, n, withDovecot));
            return string.Join("\n\n", sections);
        }
        finally
        {
            Console.SetOut(stdout);
        }
    }

    private static async Task<string> RunSizeAsync(string workDir, int n, bool withDovecot)
    {
        var dir = Path.Combine(workDir, $"search-{n}-{Guid.NewGuid():N}"[..24]);
        var mailRoot = Path.Combine(dir, "maildirs");
        var user = MailboxId.Parse(SearchCorpus.User);
        var maildir = Path.Combine(mailRoot, user.Domain, user.LocalPart);
        try
        {
            Progress(n, "writing the corpus");
            var corpus = SearchCorpus.WriteMaildir(n, maildir);
            Progress(n, $"corpus written in {corpus.Elapsed.TotalSeconds:N1} s, mean {corpus.MeanBytes / 1024:N1} KB");
            var kinds = Kinds(corpus.Terms);

            var (figures, ours) = await MailActorsSideAsync(Path.Combine(dir, "mailactors"), corpus, kinds);
            Progress(n, "standalone MessageIndex");
            figures = await StandaloneIndexAsync(corpus, figures);

            string? skipped = withDovecot ? DovecotImap.MissingReason() : "skipped (--no-dovecot)";
            DovecotResult? imap = null;
            if (skipped is null)
            {
                Progress(n, "Dovecot");
                try
                {
                    imap = await DovecotSideAsync(Path.Combine(dir, "dovecot"), mailRoot, maildir, corpus, kinds);
                }
                catch (DovecotFailedException e)
                {
                    skipped = "Dovecot failed: " + e.Message;
                }
            }
            return Report(n, corpus, kinds, figures, ours, imap, skipped);
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException e)
            {
                Progress(n, $"could not delete {dir}: {e.Message}");
            }
        }
    }

    private static List<QueryKind> Kinds(QueryTerms t)
    {
        // Exact kinds end with a space: the parser reads a last word that the text ends on as a
        // prefix (search as you type); a submitted search of one word doesn't.
        QueryKind Body(string name, IReadOnlyList<string> words) =>
            new(name, words.Select(w => w + " ").ToList(), words.Select(w => ImapQuery.BodyContains(w)).ToList(), words.Select(w => $"BODY {w}").ToList(), true);
        return
        [
            Body("body rare word", t.RareWords),
            Body("body common word", t.CommonWords),
            new("`from:` address", t.Senders.Select(a => $"from:{a} ").ToList(), t.Senders.Select(a => ImapQuery.FromContains(a)).ToList(),
                t.Senders.Select(a => $"FROM {a}").ToList(), false),
            new("`subject:` word", t.SubjectWords.Select(w => $"subject:{w} ").ToList(), t.SubjectWords.Select(w => ImapQuery.SubjectContains(w)).ToList(),
                t.SubjectWords.Select(w => $"SUBJECT {w}").ToList(), false),
            new("body phrase `\"w1 w2\"`", t.Phrases.Select(p => $"\"{p.First} {p.Second}\" ").ToList(),
                t.Phrases.Select(p => ImapQuery.BodyContains($"{p.First} {p.Second}")).ToList(), t.Phrases.Select(p => $"BODY \"{p.First} {p.Second}\"").ToList(), true),
            new("prefix (4 letters, as typed)", t.Prefixes, t.Prefixes.Select(p => ImapQuery.BodyContains(p)).ToList(), t.Prefixes.Select(p => $"BODY {p}").ToList(), true),
            new("`from:` address + word + `is:unread`", t.Combined.Select(c => $"from:{c.Sender} {c.Word} is:unread ").ToList(),
                t.Combined.Select(c => ImapQuery.NotSeen.And(ImapQuery.FromContains(c.Sender)).And(ImapQuery.BodyContains(c.Word))).ToList(),
                t.Combined.Select(c => $"UNSEEN FROM {c.Sender} BODY {c.Word}").ToList(), true),
        ];
    }

    // ---- MailActors ---------------------------------------------------------------------

    private static async Task<(IndexFigures, Dictionary<string, OurResult>)> MailActorsSideAsync(string dataDir, GeneratedCorpus corpus, List<QueryKind> kinds)
    {
        var n = corpus.Messages.Count;
        using var host = await MailboxBench.StartAsync(dataDir);
        try
        {
            var client = host.Services.GetRequiredService<MailboxClient>();
            var blobs = host.Services.GetRequiredService<IBlobStore>();
            await MailboxBench.RegisterAsync(client, [SearchCorpus.User]);

            // As the SMTP edge does: bytes into the blob store, parse, deliver with the body text.
            Progress(n, "delivering into MailActors");
            var delivery = Stopwatch.StartNew();
            var messageBlobs = new ConcurrentDictionary<BlobId, bool>();
            await Parallel.ForEachAsync(corpus.Messages, new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (m, ct) =>
            {
                BlobWriteResult blob;
                await using (var file = OpenRead(m.Path)) blob = await blobs.PutAsync(file, ct);
                messageBlobs[blob.Id] = true;
                var (metadata, text) = await MessageParser.ParseWithBodyTextAsync(m.Path, blob.Id, blob.Size, ct); // as the SMTP edge does
                await client.DeliverAsync(SearchCorpus.User, $"search-bench-{m.Index}", metadata, folderId: null, m.Flags, bodyText: text, ct: ct);
            });
            delivery.Stop();
            var account = await client.GetAccountAsync(SearchCorpus.User);
            if (account.MessageCount != n) throw new InvalidOperationException($"MailActors holds {account.MessageCount} messages, expected {n}");

            var (stats, statsError) = await SearchStatsAsync(client);
            var figures = new IndexFigures(n / delivery.Elapsed.TotalSeconds, delivery.Elapsed, 0, TimeSpan.Zero, 0, 0, TimeSpan.Zero, stats, statsError);

            // Background merges catch up after a bulk import; queries are timed once they have (steady state).
            Progress(n, "MailActors: waiting for background merges");
            var settling = Stopwatch.StartNew();
            SearchStatsReply? settled = stats;
            while (settled is { Busy: true } && settling.Elapsed < TimeSpan.FromMinutes(15))
            {
                await Task.Delay(500);
                (settled, _) = await SearchStatsAsync(client);
            }
            figures = figures with { Settled = settled, SettleTime = settling.Elapsed };

            var results = new Dictionary<string, OurResult>();
            foreach (var kind in kinds)
            {
                Progress(n, $"MailActors: {kind.Name}");
                results[kind.Name] = await TimeOursAsync(client, kind);
            }
            await host.StopAsync(); // shard hand-off: the mailbox writes its in-memory segment

            Progress(n, "MailActors: restart, recovery and the first search");
            figures = figures with { Restart = await ColdStartAsync(dataDir, kinds[0].Ours[0], messageBlobs) };
            return (figures, results);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<ColdStart> ColdStartAsync(string dataDir, string query, ConcurrentDictionary<BlobId, bool> messageBlobs)
    {
        using var host = await MailboxBench.StartAsync(dataDir);
        try
        {
            var client = host.Services.GetRequiredService<MailboxClient>();
            var started = Stopwatch.GetTimestamp();
            await client.GetAccountAsync(SearchCorpus.User);
            var recovery = Stopwatch.GetElapsedTime(started);
            started = Stopwatch.GetTimestamp();
            await client.SearchAsync(SearchCorpus.User, query, limit: PageLimit);
            var first = Stopwatch.GetElapsedTime(started);
            started = Stopwatch.GetTimestamp();
            await client.SearchAsync(SearchCorpus.User, query, limit: PageLimit);
            var second = Stopwatch.GetElapsedTime(started);
            var stats = await client.GetSearchStatsAsync(SearchCorpus.User);
            // Every blob that is not a message is an index segment (merged-away ones included: no blob GC yet).
            var segmentFiles = Directory.EnumerateFiles(Path.Combine(dataDir, "blobs"), "*.zst", SearchOption.AllDirectories)
                .Where(f => !messageBlobs.ContainsKey(BlobId.Parse(Path.GetFileNameWithoutExtension(f))))
                .Sum(f => new FileInfo(f).Length);
            return new ColdStart(recovery.TotalMilliseconds, first.TotalMilliseconds, second.TotalMilliseconds, stats, segmentFiles);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<OurResult> TimeOursAsync(MailboxClient client, QueryKind kind)
    {
        if (kind.Terms == 0) return OurResult.Failed("no terms of this kind in the corpus");
        try
        {
            // Warm-up, and the hit counts: every term once, paging through all its hits.
            var pageHits = new int[kind.Terms];
            var allHits = new int[kind.Terms];
            var allPages = TimeSpan.Zero;
            for (var t = 0; t < kind.Terms; t++)
            {
                pageHits[t] = (await client.SearchAsync(SearchCorpus.User, kind.Ours[t], limit: PageLimit)).Items.Count;
                var started = Stopwatch.GetTimestamp();
                string? cursor = null;
                do
                {
                    var page = await client.SearchAsync(SearchCorpus.User, kind.Ours[t], limit: PagingLimit, cursor: cursor);
                    allHits[t] += page.Items.Count;
                    cursor = page.NextCursor;
                } while (cursor is not null);
                allPages += Stopwatch.GetElapsedTime(started);
            }

            var samples = new List<double>(OurRuns);
            for (var r = 0; r < OurRuns; r++)
            {
                var started = Stopwatch.GetTimestamp();
                await client.SearchAsync(SearchCorpus.User, kind.Ours[r % kind.Terms], limit: PageLimit);
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            return new OurResult(Latency.Of(samples), pageHits, allHits, allPages.TotalMilliseconds / kind.Terms, null);
        }
        catch (MailboxException e)
        {
            return OurResult.Failed($"{e.Code}: {e.Message}");
        }
    }

    /// <summary>The mailbox's own figures for its index (in memory, and its segments in the blob store).</summary>
    private static async Task<(SearchStatsReply?, string?)> SearchStatsAsync(MailboxClient client)
    {
        try
        {
            return (await client.GetSearchStatsAsync(SearchCorpus.User), null);
        }
        catch (MailboxException e)
        {
            return (null, $"{e.Code}: {e.Message}");
        }
    }

    /// <summary>
    /// The index alone: the same <see cref="IndexedMessage"/> the mailbox builds, for each message,
    /// added to a plain <see cref="MessageIndex"/> on one thread. Only Add is timed; parsing is not.
    /// </summary>
    private static async Task<IndexFigures> StandaloneIndexAsync(GeneratedCorpus corpus, IndexFigures figures)
    {
        var index = new MessageIndex();
        var blob = BlobId.Of([]);
        var addTicks = 0L;
        foreach (var m in corpus.Messages)
        {
            var (metadata, text) = await MessageParser.ParseWithBodyTextAsync(m.Path, blob, m.Size);
            var indexed = MailboxState.IndexedMessageOf(metadata, text); // what the mailbox actor indexes
            var started = Stopwatch.GetTimestamp();
            index.Add(m.Index + 1, indexed);
            addTicks += Stopwatch.GetTimestamp() - started;
        }
        var addTime = Stopwatch.GetElapsedTime(0, addTicks);
        var serialize = Stopwatch.StartNew();
        var bytes = index.Serialize();
        serialize.Stop();
        return figures with
        {
            AddPerSecond = corpus.Messages.Count / addTime.TotalSeconds,
            AddTime = addTime,
            ApproximateBytes = index.ApproximateBytes,
            SerializedBytes = bytes.Length,
            SerializeTime = serialize.Elapsed,
        };
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);

    // ---- Dovecot ------------------------------------------------------------------------

    private static async Task<DovecotResult> DovecotSideAsync(
        string dir, string mailRoot, string maildir, GeneratedCorpus corpus, List<QueryKind> kinds)
    {
        DovecotImap dovecot;
        try
        {
            dovecot = await DovecotImap.StartAsync(dir, mailRoot, SearchCorpus.User, ImapPassword);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or System.ComponentModel.Win32Exception)
        {
            throw new DovecotFailedException(e.Message, e);
        }
        await using var stop = dovecot;
        try
        {
            using var imap = await dovecot.ConnectAsync();
            var inbox = imap.Inbox;
            var sw = Stopwatch.StartNew();
            await inbox.OpenAsync(FolderAccess.ReadWrite); // the first SELECT builds Dovecot's index
            var firstSelect = sw.Elapsed;
            if (inbox.Count != corpus.Messages.Count)
                throw new DovecotFailedException($"Dovecot sees {inbox.Count} messages, expected {corpus.Messages.Count}:\n{dovecot.LogTail()}");
            await inbox.CloseAsync();
            sw.Restart();
            await inbox.OpenAsync(FolderAccess.ReadWrite);
            var select = sw.Elapsed;
            var unseen = (await inbox.SearchAsync(ImapQuery.NotSeen)).Count;

            var results = new Dictionary<string, ImapResult>();
            foreach (var kind in kinds)
            {
                if (kind.Terms == 0) continue;
                Progress(corpus.Messages.Count, $"Dovecot: {kind.Name}");
                results[kind.Name] = await TimeImapAsync(inbox, kind);
            }
            await imap.DisconnectAsync(quit: true);
            return new DovecotResult(firstSelect, select, DovecotImap.IndexBytes(maildir), unseen, results);
        }
        catch (Exception e) when (e is not DovecotFailedException and not OutOfMemoryException)
        {
            throw new DovecotFailedException($"{e.GetType().Name}: {e.Message}\n{dovecot.LogTail()}", e);
        }
    }

    /// <summary>
    /// One untimed run (its time is reported as the first run: it may fill Dovecot's cache),
    /// then runs cycling through the terms: up to 200, fewer when slow (a BODY search reads every
    /// message file), but at least 10 for BODY kinds and 50 for the others. Hits: each term's
    /// first timed run, so only the first 10 terms when there were 10 runs.
    /// </summary>
    private static async Task<ImapResult> TimeImapAsync(IMailFolder inbox, QueryKind kind)
    {
        var started = Stopwatch.GetTimestamp();
        await inbox.SearchAsync(kind.Imap[0]);
        var firstRun = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

        var minimum = kind.ImapBody ? 10 : 50;
        var runs = (int)Math.Clamp(ImapBudgetPerKind.TotalMilliseconds / Math.Max(firstRun, 0.01), minimum, OurRuns);
        var samples = new List<double>(runs);
        var hits = new int[Math.Min(runs, kind.Terms)];
        for (var r = 0; r < runs; r++)
        {
            started = Stopwatch.GetTimestamp();
            var uids = await inbox.SearchAsync(kind.Imap[r % kind.Terms]);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (r < hits.Length) hits[r] = uids.Count;
        }
        return new ImapResult(Latency.Of(samples), firstRun, hits);
    }

    // ---- report -------------------------------------------------------------------------

    private static string Report(int n, GeneratedCorpus corpus, List<QueryKind> kinds, IndexFigures f, Dictionary<string, OurResult> ours,
        DovecotResult? imap, string? skipped)
    {
        var inv = CultureInfo.InvariantCulture;
        string Ms(double ms) => ms < 10 ? ms.ToString("N2", inv) : ms < 100 ? ms.ToString("N1", inv) : ms.ToString("N0", inv);
        string PerMessage(long bytes) => string.Create(inv, $"{(double)bytes / n:N0} B/message ({bytes / 1048576.0:N1} MB)");
        var m = corpus.Messages;
        var unread = m.Count(x => !x.Read);

        var lines = new List<string>
        {
            string.Create(inv, $"## Per-user search, {n:N0} messages"),
            "",
            string.Create(inv, $"Corpus (seed {SearchCorpus.Seed}): {n:N0} messages, mean **{corpus.MeanBytes / 1024:N1} KB** raw (total {corpus.TotalBytes / 1048576.0:N0} MB), ")
                + string.Create(inv, $"{100.0 * m.Count(x => x.HasAttachment) / n:N0}% with an attachment, {100.0 * unread / n:N0}% unread, {100.0 * m.Count(x => x.Flagged) / n:N0}% flagged, ")
                + string.Create(inv, $"{m[0].Date:yyyy-MM-dd} to {m[^1].Date:yyyy-MM-dd}; generated and written in {corpus.Elapsed.TotalSeconds:N1} s."),
            "",
            "### Indexing",
            "",
            "| what | figure |",
            "|---|---:|",
            string.Create(inv, $"| MailActors delivery, {InFlight} in flight: blob store (fsync) + MIME parse + journal + index | **{f.DeliveriesPerSecond:N0} msg/s** ({f.DeliveryTime.TotalSeconds:N1} s) |"),
            string.Create(inv, $"| `MessageIndex.Add` alone, one thread (parsing not timed) | {f.AddPerSecond:N0} msg/s ({f.AddTime.TotalMilliseconds * 1000 / n:N0} µs/message) |"),
            f.Stats is { } s
                ? $"| index in memory right after delivery, before any search (recent mail's segment only; {s.Segments} written segment{(s.Segments == 1 ? "" : "s")} not loaded) | {PerMessage(s.MemoryBytes)} |"
                : $"| index in memory (`GetSearchStatsAsync`) | n/a: {f.StatsError} |",
            f.Stats is { } d ? $"| index on disk (`GetSearchStatsAsync`) | {PerMessage(d.DiskBytes)} |" : $"| index on disk (`GetSearchStatsAsync`) | n/a |",
            f.Settled is { } st
                ? string.Create(inv, $"| background merges after the import: written segments when delivery ended → when merges settled (queries are timed after that) | {f.Stats?.Segments} → {st.Segments} in {f.SettleTime.TotalSeconds:N0} s{(st.Busy ? " (still busy: gave up waiting)" : "")} |")
                : "| background merges after the import | n/a |",
            $"| standalone `MessageIndex.ApproximateBytes` | {PerMessage(f.ApproximateBytes)} |",
            f.Restart is { } c
                ? string.Create(inv, $"| after a node restart: mailbox recovery (no index read) / first search (loads {c.Stats.Segments} segments) / next search | {c.RecoveryMs:N0} ms / **{c.FirstSearchMs:N0} ms** / {c.SecondSearchMs:N2} ms |")
                : "| after a node restart | n/a |",
            f.Restart is { } c2
                ? $"| after restart, all loaded: index in memory / serialized segments / segment files in the blob store (zstd, incl. merged-away ones) | {PerMessage(c2.Stats.MemoryBytes)} / {PerMessage(c2.Stats.DiskBytes)} / {PerMessage(c2.SegmentFileBytes)} |"
                : "| after restart, all loaded | n/a |",
            string.Create(inv, $"| standalone `MessageIndex.Serialize()` | {PerMessage(f.SerializedBytes)}, {f.SerializeTime.TotalMilliseconds:N0} ms |"),
        };
        if (imap is { } i)
        {
            lines.Add(string.Create(inv, $"| Dovecot first SELECT (scans the Maildir, builds its index) | {Ms(i.FirstSelect.TotalMilliseconds)} ms |"));
            lines.Add(string.Create(inv, $"| Dovecot SELECT again | {Ms(i.Select.TotalMilliseconds)} ms |"));
            lines.Add($"| Dovecot's index files after the searches (dovecot.index*, uidlist) | {PerMessage(i.IndexBytes)} |");
        }

        lines.Add("");
        lines.Add(string.Create(inv, $"### Queries (MailActors: first page of {PageLimit}, `MailboxClient.SearchAsync`; Dovecot: `UID SEARCH` on a selected INBOX, all hits)"));
        lines.Add("");
        lines.Add("| kind | MailActors p50 ms | p99 ms | hits, page 1 | hits, all | all pages ms | Dovecot p50 ms | p99 ms | first run ms | hits | Dovecot / MailActors p50 |");
        lines.Add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var partial = false;
        foreach (var kind in kinds)
        {
            var o = ours[kind.Name];
            var theirs = imap?.Results.GetValueOrDefault(kind.Name);
            // Hit means over the same terms on both sides: Dovecot may have run only the first few.
            var terms = theirs?.Hits.Length ?? kind.Terms;
            var mark = terms < kind.Terms ? "¹" : "";
            partial |= mark.Length > 0;
            var oursCells = o.Latency is { } ol
                ? string.Create(inv, $"{Ms(ol.P50)} | {Ms(ol.P99)} | {Mean(o.PageHits, terms):N1}{mark} | {Mean(o.AllHits, terms):N1}{mark} | {Ms(o.AllPagesMs)}")
                : "error | – | – | – | –";
            var imapCells = theirs is { } t
                ? string.Create(inv, $"{Ms(t.Latency.P50)} | {Ms(t.Latency.P99)} | {Ms(t.FirstRunMs)} | {Mean(t.Hits, terms):N1}{mark}")
                : "– | – | – | –";
            var ratio = theirs is { } r && o.Latency is { } l ? $"**{Ratio(r.Latency.P50 / l.P50)}**" : "–";
            lines.Add($"| {kind.Name} | {oursCells} | {imapCells} | {ratio} |");
        }
        lines.Add("");
        lines.Add("Hits are means per term" + (partial ? "; ¹ over the terms Dovecot ran (10 of 20, its BODY searches being slow)." : "."));

        lines.Add("");
        lines.Add("Queries (each kind cycles through its terms; the first one shown):");
        lines.Add("");
        foreach (var kind in kinds)
        {
            if (kind.Terms == 0)
            {
                lines.Add($"- {kind.Name}: no terms of this kind in the corpus");
                continue;
            }
            var o = ours[kind.Name];
            var theirs = imap?.Results.GetValueOrDefault(kind.Name);
            lines.Add(string.Create(inv,
                $"- {kind.Name}: `{kind.Ours[0]}` / `UID SEARCH {kind.ImapText[0]}` — {kind.Terms} terms; MailActors {(o.Latency is { } ol ? $"{ol.Runs} runs" : "error: " + o.Error)}")
                + (theirs is { } t ? $", Dovecot {t.Latency.Runs} runs" : ""));
        }

        lines.Add("");
        if (imap is { } im)
        {
            lines.Add(string.Create(inv, $"Check: Dovecot `UID SEARCH UNSEEN` finds {im.Unseen:N0} messages, the corpus has {unread:N0} unread."));
            lines.Add("");
        }
        else
        {
            lines.Add($"**Dovecot skipped:** {skipped}");
            lines.Add("");
        }
        lines.Add("""
            Notes: latencies are per request on an open connection (MailActors: an ask to the mailbox actor in the same process;
            Dovecot: one IMAP command over loopback), after a warm-up, with the mail in the page cache. MailActors answers the first
            page only (newest first); `UID SEARCH` computes every hit, so "all pages" is the comparable figure for a full result.
            Our free words match any field (from, to, cc, subject, body, attachment names), IMAP BODY only the body, and IMAP matches
            substrings (BODY of a prefix or a word also finds longer words containing it), so hit counts can differ. Exact-word queries
            end with a space so the last word isn't read as a prefix. Dovecot runs without an FTS plugin: every BODY search reads
            and decodes each message file.
            """.Replace("\n", " ", StringComparison.Ordinal));
        return string.Join('\n', lines);
    }

    private static double Mean(int[] values, int count) => count == 0 || values.Length == 0 ? 0 : values.Take(count).Average();

    private static string Ratio(double ratio) => ratio.ToString(ratio < 10 ? "N1" : "N0", CultureInfo.InvariantCulture) + "×";

    private sealed class DovecotFailedException(string message, Exception? inner = null) : Exception(message, inner);

    private static void Progress(int n, string what) =>
        Console.Error.WriteLine($"[search {n}] {DateTime.Now:HH:mm:ss} {what}");
}
