using Akka.Actor;
using MailActors.Cluster;
using MailActors.Cluster.Outbound;
using MailActors.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Node;

/// <summary>
/// "user add" / "user list". When a node runs on the same data directory (or seed nodes are
/// given) the command joins that cluster without hosting mailboxes, so the running node stays
/// the only owner of every mailbox; otherwise it hosts the mailboxes itself for the moment.
/// </summary>
public static class AdminCommands
{
    public static async Task<int> UserAsync(NodeSettings settings, List<string> args)
    {
        switch (args)
        {
            case ["add", var address, .. var flags]:
                var (password, name, quotaMb) = ParseAddFlags(flags);
                password ??= Environment.GetEnvironmentVariable("MAILACTORS_PASSWORD") ?? ReadPassword();
                return await WithClient(settings, async (client, _) =>
                {
                    var account = await client.RegisterAsync(address, password, name, quotaMb is null ? null : quotaMb * 1024 * 1024);
                    Console.WriteLine($"created {account.Mailbox} (quota {account.QuotaBytes / (1024 * 1024)} MiB) with folders Inbox, Sent, Drafts, Trash, Spam, Archive");
                    return 0;
                });
            case ["import", var file]:
                // One "address password [display name]" per line; many users in one process.
                var lines = File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
                return await WithClient(settings, async (client, _) =>
                {
                    var failed = 0;
                    await Parallel.ForEachAsync(lines, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, async (line, ct) =>
                    {
                        var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
                        try
                        {
                            if (parts.Length < 2) throw new MailboxException(MailboxErrorCode.Invalid, "expected: address password [name]");
                            await client.RegisterAsync(parts[0], parts[1], parts.Length > 2 ? parts[2] : null, ct: ct);
                        }
                        catch (MailboxException e)
                        {
                            Interlocked.Increment(ref failed);
                            Console.Error.WriteLine($"{parts[0]}: {e.Message}");
                        }
                    });
                    Console.WriteLine($"imported {lines.Count - failed} of {lines.Count} user(s)");
                    return failed == 0 ? 0 : 1;
                });
            case ["list"]:
                return await WithClient(settings, async (client, system) =>
                {
                    var mailboxes = await MailboxDirectory.ListAsync(system);
                    Console.WriteLine($"{"address",-40} {"name",-24} {"messages",9} {"used MiB",9} {"quota MiB",9}");
                    foreach (var id in mailboxes)
                    {
                        var a = await client.GetAccountAsync(id.Value);
                        Console.WriteLine($"{a.Mailbox.Value,-40} {a.DisplayName,-24} {a.MessageCount,9} {a.UsedBytes / 1048576.0,9:0.0} {a.QuotaBytes / 1048576,9}");
                    }
                    Console.WriteLine($"{mailboxes.Count} mailbox(es)");
                    return 0;
                });
            default:
                throw new ArgumentException("usage: user add ADDRESS [--password P] [--name NAME] [--quota-mb N] | user import FILE | user list");
        }
    }

    /// <summary>"queue list [DOMAIN]" / "queue retry DOMAIN [ID]" / "queue delete DOMAIN ID".</summary>
    public static async Task<int> QueueAsync(NodeSettings settings, List<string> args) => args switch
    {
        ["list", .. var rest] when rest.Count <= 1 => await WithServices(settings, async services =>
        {
            var outbound = services.GetRequiredService<OutboundClient>();
            var domains = rest.Count == 1 ? rest : await OutboundClient.DomainsAsync(services.GetRequiredService<ActorSystem>());
            var total = 0;
            Console.WriteLine($"{"domain",-24} {"queue id",-34} {"sender",-28} {"tries",5} {"next attempt (UTC)",-20} pending / last reply");
            foreach (var domain in domains)
            {
                foreach (var e in (await outbound.ListAsync(domain)).Entries)
                {
                    total++;
                    Console.WriteLine($"{domain,-24} {e.QueueId,-34} {e.Sender,-28} {e.Attempts,5} {e.NextAttemptAt.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {string.Join(", ", e.Pending)} / {e.LastReply}");
                }
            }
            Console.WriteLine($"{total} queued message(s)");
            return 0;
        }),
        ["retry", var domain, .. var id] when id.Count <= 1 => await WithServices(settings, async services =>
        {
            var updated = await services.GetRequiredService<OutboundClient>().RetryAsync(domain, id.Count == 1 ? id[0] : null);
            Console.WriteLine($"{updated.Count} entr(y/ies) of {domain} rescheduled for now");
            return 0;
        }),
        ["delete", var domain, var id] => await WithServices(settings, async services =>
        {
            var updated = await services.GetRequiredService<OutboundClient>().DeleteAsync(domain, id);
            Console.WriteLine(updated.Count == 0 ? $"no entry {id} in {domain}'s queue" : $"deleted {id} from {domain}'s queue (no delivery, no bounce)");
            return updated.Count == 0 ? 1 : 0;
        }),
        _ => throw new ArgumentException("usage: queue list [DOMAIN] | queue retry DOMAIN [QUEUE-ID] | queue delete DOMAIN QUEUE-ID"),
    };

    /// <summary>"dkim show [DOMAIN]": the DNS TXT record to publish for each local domain (keys are created if missing).</summary>
    public static int Dkim(NodeSettings settings, List<string> args)
    {
        var domains = args switch
        {
            ["show"] => settings.Domains,
            ["show", var domain] => [domain],
            _ => throw new ArgumentException("usage: dkim show [DOMAIN]"),
        };
        var store = new Mime.Dkim.DkimKeyStore(Path.Combine(settings.DataDirectory, "dkim"), settings.ToOptions().DkimKeyFiles);
        foreach (var domain in domains)
        {
            var key = store.GetOrCreate(domain);
            Console.WriteLine($"{key.DnsName}. IN TXT \"{key.TxtRecord}\"");
        }
        Console.WriteLine("(split the value into strings of at most 255 characters if your DNS tool needs it)");
        return 0;
    }

    private static (string? Password, string? Name, long? QuotaMb) ParseAddFlags(IReadOnlyList<string> flags)
    {
        string? password = null, name = null;
        long? quota = null;
        for (var i = 0; i < flags.Count; i++)
        {
            string Value() => i + 1 < flags.Count ? flags[++i] : throw new ArgumentException($"{flags[i]} needs a value");
            switch (flags[i])
            {
                case "--password": password = Value(); break;
                case "--name": name = Value(); break;
                case "--quota-mb":
                    quota = long.TryParse(Value(), out var q) && q > 0 ? q : throw new ArgumentException("--quota-mb must be a positive number");
                    break;
                default: throw new ArgumentException($"unknown flag for user add: {flags[i]}");
            }
        }
        return (password, name, quota);
    }

    private static string ReadPassword()
    {
        Console.Error.Write("password: ");
        return Console.ReadLine() ?? throw new ArgumentException("no password given (--password, MAILACTORS_PASSWORD or stdin)");
    }

    private static Task<int> WithClient(NodeSettings settings, Func<MailboxClient, ActorSystem, Task<int>> action) =>
        WithServices(settings, services => action(services.GetRequiredService<MailboxClient>(), services.GetRequiredService<ActorSystem>()));

    private static async Task<int> WithServices(NodeSettings settings, Func<IServiceProvider, Task<int>> action)
    {
        var running = settings.SeedNodes.Count > 0 ? null : NodeLock.RunningNodeAddress(settings.DataDirectory);
        using var localLock = running is null && settings.SeedNodes.Count == 0 ? NodeLock.TryAcquire(settings.DataDirectory) : null;
        var options = running is not null
            ? settings.ToOptions(hostMailboxes: false) with { SeedNodes = [running], ClusterPort = 0 }
            : settings.ToOptions(hostMailboxes: settings.SeedNodes.Count == 0) with { ClusterPort = settings.SeedNodes.Count == 0 ? 0 : settings.ClusterPort };

        // Queues stay with the serving node: this process has no egress to deliver with.
        using var host = NodeHost.Build(options with { HostOutbound = false }, LogLevel.Warning);
        await host.StartAsync();
        try
        {
            return await action(host.Services);
        }
        catch (MailboxException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
