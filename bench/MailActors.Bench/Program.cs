using MailActors.Bench;

// dotnet run -c Release --project bench/MailActors.Bench -- [all|deliver|recovery|memory|blobs|outbound] [--work-dir DIR]
var target = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "all";
var workIndex = Array.IndexOf(args, "--work-dir");
var workDir = Path.GetFullPath(workIndex >= 0 && workIndex + 1 < args.Length ? args[workIndex + 1] : Path.Combine(Path.GetTempPath(), "mailactors-bench"));
Directory.CreateDirectory(workDir);
Console.WriteLine($"# MailActors bench ({target}) — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, work dir {workDir}\n");

if (target is "all" or "deliver") Console.WriteLine("## Deliveries/s (SQLite journal, synchronous=FULL)\n\n" + await MailboxBench.ThroughputAsync(workDir) + "\n");
if (target is "all" or "recovery") Console.WriteLine("## Cold recovery\n\n" + await MailboxBench.RecoveryAsync(workDir) + "\n");
if (target is "all" or "memory") Console.WriteLine("## Mailbox memory\n\n" + await MailboxBench.MemoryAsync(workDir) + "\n");
if (target is "all" or "blobs") Console.WriteLine("## Blob store, 50 KB messages\n\n" + await BlobStoreBench.RunAsync(workDir) + "\n");
if (target is "all" or "outbound") Console.WriteLine("## Outbound delivery to smtp-sink, 50 KB messages\n\n" + await OutboundBench.RunAsync(workDir) + "\n");
return 0;
