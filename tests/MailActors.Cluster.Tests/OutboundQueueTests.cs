using System.Collections.Concurrent;
using MailActors.Cluster.Outbound;
using MailActors.Cluster.Tests.Infrastructure;
using MailActors.Core;
using MailActors.Core.Outbound;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace MailActors.Cluster.Tests;

/// <summary>The durable outbound queue on a real node (SQLite journal), with a scripted transport.</summary>
public sealed class OutboundQueueTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private MailActorsOptions Options => TestNode.OptionsFor(_dir.Path) with
    {
        Outbound = new OutboundSettings { Retry = new RetryPolicy { First = TimeSpan.FromMilliseconds(200), Max = TimeSpan.FromSeconds(1), GiveUpAfter = TimeSpan.FromDays(5) } },
    };

    /// <summary>Answers each attempt with the next scripted outcome per recipient (the last one repeats).</summary>
    private sealed class ScriptedTransport(params (AttemptOutcome Outcome, string Reply)[] script) : IOutboundTransport
    {
        public ConcurrentQueue<(string Domain, IReadOnlyList<string> Recipients)> Attempts { get; } = new();
        private int _calls;

        public Task<IReadOnlyList<RecipientAttempt>> DeliverAsync(string domain, OutboundMessage message, IReadOnlyList<string> recipients, CancellationToken ct)
        {
            Attempts.Enqueue((domain, recipients));
            var (outcome, reply) = script[Math.Min(Interlocked.Increment(ref _calls) - 1, script.Length - 1)];
            return Task.FromResult<IReadOnlyList<RecipientAttempt>>(recipients.Select(r => new RecipientAttempt(r, outcome, reply)).ToList());
        }
    }

    [Fact]
    public async Task A_451_is_retried_with_backoff_and_then_delivered()
    {
        var transport = new ScriptedTransport((AttemptOutcome.TemporaryFailure, "451 4.7.1 greylisted"), (AttemptOutcome.Delivered, "250 ok"));
        await using var node = await TestNode.StartAsync(Options, s => s.AddSingleton<IOutboundTransport>(transport));
        var outbound = node.Services.GetRequiredService<OutboundClient>();
        await outbound.EnqueueAsync("m1", "alice@localhost", ["bob@example.org", "carol@example.org"], BlobId.Of([1]), 1, DateTimeOffset.UtcNow);

        await EmbeddingTests.AwaitAsync(async () => transport.Attempts.Count >= 2 && (await outbound.ListAsync("example.org")).Entries.Count == 0);
        Assert.All(transport.Attempts, a => Assert.Equal(["bob@example.org", "carol@example.org"], a.Recipients.Order()));
    }

    [Fact]
    public async Task A_550_ends_in_a_bounce_in_the_senders_inbox_naming_the_recipient_and_reply()
    {
        var transport = new ScriptedTransport((AttemptOutcome.PermanentFailure, "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown"));
        await using var node = await TestNode.StartAsync(Options, s => s.AddSingleton<IOutboundTransport>(transport));
        await node.Client.RegisterAsync("alice@localhost", "correct horse battery");
        var blobs = node.Services.GetRequiredService<IBlobStore>();
        var original = await blobs.PutAsync(new MemoryStream("From: alice@localhost\r\nTo: bob@example.org\r\nSubject: Hello Bob\r\nMessage-ID: <m1@localhost>\r\n\r\nHi\r\n"u8.ToArray()));
        var outbound = node.Services.GetRequiredService<OutboundClient>();
        await outbound.EnqueueAsync("m1", "alice@localhost", ["bob@example.org"], original.Id, original.Size, DateTimeOffset.UtcNow);

        MessageSummary? bounce = null;
        await EmbeddingTests.AwaitAsync(async () =>
            (bounce = (await node.Client.ListMessagesAsync("alice@localhost", SystemFolders.Inbox)).Items.FirstOrDefault()) is not null);
        Assert.Equal("Undelivered Mail Returned to Sender", bounce!.Metadata.Subject);
        await using var raw = await blobs.OpenReadAsync(bounce.Metadata.Blob);
        var text = await new StreamReader(raw).ReadToEndAsync();
        Assert.Contains("multipart/report", text);
        Assert.Contains("Final-Recipient: rfc822; bob@example.org", text);
        Assert.Contains("Status: 5.1.1", text);
        Assert.Contains("User unknown", text);
        Assert.Contains("Subject: Hello Bob", text);
        await EmbeddingTests.AwaitAsync(async () => (await outbound.ListAsync("example.org")).Entries.Count == 0);
        Assert.Single(transport.Attempts);
    }

    [Fact]
    public async Task Queued_mail_survives_a_restart_and_is_delivered_by_the_next_node()
    {
        var failing = new ScriptedTransport((AttemptOutcome.TemporaryFailure, "421 4.3.2 shutting down"));
        await using (var first = await TestNode.StartAsync(Options, s => s.AddSingleton<IOutboundTransport>(failing)))
        {
            await first.Services.GetRequiredService<OutboundClient>()
                .EnqueueAsync("m1", "alice@localhost", ["bob@example.org"], BlobId.Of([1]), 1, DateTimeOffset.UtcNow);
            await EmbeddingTests.AwaitAsync(() => Task.FromResult(!failing.Attempts.IsEmpty));
        }

        // Nobody sends to the queue after the restart: the remembered entity wakes by itself.
        var delivering = new ScriptedTransport((AttemptOutcome.Delivered, "250 ok"));
        await using var second = await TestNode.StartAsync(Options, s => s.AddSingleton<IOutboundTransport>(delivering));
        await EmbeddingTests.AwaitAsync(() => Task.FromResult(!delivering.Attempts.IsEmpty), seconds: 60);
        var outbound = second.Services.GetRequiredService<OutboundClient>();
        await EmbeddingTests.AwaitAsync(async () => (await outbound.ListAsync("example.org")).Entries.Count == 0);
        Assert.Equal(["example.org"], await OutboundClient.DomainsAsync(second.System));
    }

    public void Dispose() => _dir.Dispose();
}
