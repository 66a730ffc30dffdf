using MailActors.Core;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;
using Xunit.Abstractions;

namespace MailActors.Smtp.Tests.Peers;

/// <summary>
/// A real MTA as the MX's peer: a private Postfix accepts mail from MailKit and relays it to the MX,
/// the way mail arrives from the internet. Checks delivery, trace-header order and how Postfix
/// reads our refusals (maillog status=sent / status=bounced).
/// </summary>
public sealed class PostfixRelayTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Alice = "alice@example.test";
    private static readonly TimeSpan ExternalWait = TimeSpan.FromSeconds(30);
    private SmtpTestServer? _server;
    private PostfixRelay? _postfix;

    private SmtpTestServer Server => _server ?? throw new InvalidOperationException("the MX did not start");
    private PostfixRelay Postfix => _postfix ?? throw new InvalidOperationException("postfix did not start");

    public async Task InitializeAsync()
    {
        var server = await SmtpTestServer.StartAsync();
        try
        {
            await server.AddUserAsync(Alice);
            _postfix = await PostfixRelay.StartAsync(server.Endpoint.Port);
            _server = server;
        }
        catch
        {
            await server.DisposeAsync(); // the MX doesn't outlive a failed start, whether or not DisposeAsync runs
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_postfix is not null)
        {
            output.WriteLine($"postfix maillog:\n{await _postfix.ReadMaillogAsync()}");
            await _postfix.DisposeAsync();
        }
        if (_server is not null) await _server.DisposeAsync();
    }

    private static MimeMessage Message(string subject, string to = Alice, string from = "bob@sender.test")
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Bob Sender", from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = $"Hello Alice, this is \"{subject}\" by way of Postfix." };
        return message;
    }

    private async Task SendThroughPostfixAsync(params MimeMessage[] messages)
    {
        using var client = new SmtpClient { LocalDomain = "client.test" };
        await client.ConnectAsync("127.0.0.1", Postfix.Port, SecureSocketOptions.None);
        foreach (var message in messages)
        {
            var response = await client.SendAsync(message);
            Assert.Contains("queued as", response); // Postfix took it; relaying to the MX happens afterwards
        }
        await client.DisconnectAsync(true);
    }

    /// <summary>Polls Alice's inbox every 100 ms (Postfix delivers asynchronously) until <paramref name="count"/> messages are there.</summary>
    private async Task<IReadOnlyList<MessageSummary>> WaitForInboxAsync(int count)
    {
        var deadline = DateTime.UtcNow + ExternalWait;
        while (true)
        {
            var inbox = await Server.InboxAsync(Alice);
            if (inbox.Count >= count || DateTime.UtcNow >= deadline) return inbox;
            await Task.Delay(100);
        }
    }

    private static int Count(string text, string needle)
    {
        var n = 0;
        for (var i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    [RequiresToolFact(PostfixRelay.PostfixPath)]
    public async Task Postfix_relays_three_messages_into_the_inbox_with_both_trace_headers()
    {
        string[] subjects = ["via postfix 1", "via postfix 2", "via postfix 3"];
        await SendThroughPostfixAsync(subjects.Select(s => Message(s)).ToArray());

        var inbox = await WaitForInboxAsync(3);
        Assert.True(inbox.Count == 3, $"{inbox.Count} of 3 messages arrived within {ExternalWait.TotalSeconds} s; maillog:\n{await Postfix.ReadMaillogAsync()}");
        Assert.Equal(subjects, inbox.Select(m => m.Metadata.Subject).Order());

        foreach (var message in inbox)
        {
            var raw = await Server.RawMessageAsync(message);
            output.WriteLine($"stored:\n{raw}");
            // Ours on top (the newest hop), naming Postfix's EHLO; Postfix's own line below it.
            Assert.StartsWith($"Return-Path: <bob@sender.test>\r\nReceived: from {PostfixRelay.Hostname} ([127.0.0.1])\r\n\tby mx.test (MailActors) with ESMTP id ", raw);
            var ours = raw.IndexOf("by mx.test (MailActors)", StringComparison.Ordinal);
            var theirs = raw.IndexOf($"by {PostfixRelay.Hostname} (Postfix)", StringComparison.Ordinal);
            Assert.True(theirs > ours, $"Postfix's Received line should follow ours:\n{raw}");
            Assert.Contains("Received: from client.test (", raw); // MailKit's EHLO, as Postfix recorded it
            Assert.Contains("[127.0.0.1])\r\n\tby relay.test.local (Postfix) with ESMTP id ", raw);
            Assert.Equal(["alice@example.test"], message.Metadata.To);
        }

        var log = await Postfix.WaitForMaillogAsync(l => Count(l, "status=sent") >= 3);
        Assert.True(Count(log, "status=sent") == 3, $"expected 3 × status=sent in the maillog:\n{log}");
        Assert.Contains($"relay=127.0.0.1[127.0.0.1]:{Server.Endpoint.Port}", log);
        Assert.Contains("250 2.0.0 Ok: delivered as ", log);
        Assert.DoesNotContain("status=deferred", log);
    }

    [RequiresToolFact(PostfixRelay.PostfixPath)]
    public async Task An_unknown_user_refused_with_550_5_1_1_makes_postfix_bounce()
    {
        await SendThroughPostfixAsync(Message("to nobody", to: "nobody@example.test"));

        var log = await Postfix.WaitForMaillogAsync(l => l.Contains("status=bounced") || l.Contains("status=deferred"));
        Assert.True(log.Contains("status=bounced"), $"expected status=bounced (a permanent refusal) in the maillog:\n{log}");
        Assert.Contains("to=<nobody@example.test>", log);
        Assert.Contains("said: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)", log);
        Assert.DoesNotContain("status=deferred", log);
        Assert.False(await Server.Mailboxes.ExistsAsync("nobody@example.test"));
        Assert.Empty(await Server.InboxAsync(Alice));
    }

    [RequiresToolFact(PostfixRelay.PostfixPath)]
    public async Task Postfix_bounce_with_null_sender_reaches_a_local_sender()
    {
        // Alice writes to a mistyped local address; Postfix's non-delivery report (MAIL FROM:<>) comes back to her through the MX.
        await SendThroughPostfixAsync(Message("typo", to: "nobody@example.test", from: Alice));

        var inbox = await WaitForInboxAsync(1);
        Assert.True(inbox.Count == 1, $"no bounce reached Alice within {ExternalWait.TotalSeconds} s; maillog:\n{await Postfix.ReadMaillogAsync()}");
        var bounce = inbox[0];
        Assert.Equal("Undelivered Mail Returned to Sender", bounce.Metadata.Subject);
        var raw = await Server.RawMessageAsync(bounce);
        output.WriteLine($"stored:\n{raw}");
        Assert.StartsWith("Return-Path: <>\r\n", raw);
        Assert.Contains("550 5.1.1 <nobody@example.test>", raw);
        var log = await Postfix.WaitForMaillogAsync(l => l.Contains("from=<>") && l.Contains("status=sent"));
        Assert.Contains("status=sent", log);
    }
}
