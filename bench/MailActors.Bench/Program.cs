using System.Globalization;
using MailActors.Bench;
using MailActors.Bench.Search;

// dotnet run -c Release --project bench/MailActors.Bench -- [all|deliver|recovery|memory|blobs|outbound|search] [--work-dir DIR] [--messages 20000,100000]
// ("search" runs only when asked for: it writes ~50 KB × messages twice, and takes a while at 100,000.)
string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
var target = args.Where((a, i) => !a.StartsWith("--") && (i == 0 || args[i - 1] is not ("--work-dir" or "--messages"))).FirstOrDefault() ?? "all";
var workDir = Path.GetFullPath(Option("--work-dir") ?? Path.Combine(Path.GetTempPath(), "mailactors-bench"));
Directory.CreateDirectory(workDir);
Console.WriteLine($"# MailActors bench ({target}) — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, work dir {workDir}\n");

if (target is "all" or "deliver") Console.WriteLine("## Deliveries/s (SQLite journal, synchronous=FULL)\n\n" + await MailboxBench.ThroughputAsync(workDir) + "\n");
if (target is "all" or "recovery") Console.WriteLine("## Cold recovery\n\n" + await MailboxBench.RecoveryAsync(workDir) + "\n");
if (target is "all" or "memory") Console.WriteLine("## Mailbox memory\n\n" + await MailboxBench.MemoryAsync(workDir) + "\n");
if (target is "all" or "blobs") Console.WriteLine("## Blob store, 50 KB messages\n\n" + await BlobStoreBench.RunAsync(workDir) + "\n");
if (target is "all" or "outbound") Console.WriteLine("## Outbound delivery to smtp-sink, 50 KB messages\n\n" + await OutboundBench.RunAsync(workDir) + "\n");
if (target is "search")
{
    var sizes = (Option("--messages") ?? "20000,100000").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => int.Parse(s.Replace("_", ""), NumberStyles.AllowThousands, CultureInfo.InvariantCulture)).ToList();
    Console.WriteLine($"`dotnet run -c Release --project bench/MailActors.Bench -- {string.Join(' ', args)}`\n");
    // --no-dovecot: MailActors' side only (Dovecot's BODY searches take ~40 s each at 100,000 messages).
    Console.WriteLine(await SearchBench.RunAsync(workDir, sizes, withDovecot: !args.Contains("--no-dovecot")) + "\n");
}
return 0;
