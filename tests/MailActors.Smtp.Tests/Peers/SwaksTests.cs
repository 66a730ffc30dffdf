using MailActors.Core;
using MimeKit;
using Xunit;
using Xunit.Abstractions;

namespace MailActors.Smtp.Tests.Peers;

/// <summary>
/// The MX against swaks, a real and independent SMTP client: plain, STARTTLS, PIPELINING, refusals, MIME attachments.
/// Debian's swaks (20201014) has no BDAT/CHUNKING option, so CHUNKING is covered by MailKit elsewhere.
/// </summary>
public sealed class SwaksTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string SwaksPath = "/usr/bin/swaks";
    private const string Alice = "alice@example.test";
    private SmtpTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await SmtpTestServer.StartAsync();
        await _server.AddUserAsync(Alice);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Runs swaks against the MX; the output is swaks' full transcript (used in failure messages).</summary>
    private async Task<(int ExitCode, string Output)> SwaksAsync(string to, string subject, params string[] extra)
    {
        ExternalTools.Require(SwaksPath); // MAILACTORS_REQUIRE_SERVICES=1 without swaks: fail with the install hint
        var result = await Sh.RunAsync(SwaksPath, [
            "--server", $"127.0.0.1:{_server.Endpoint.Port}",
            "--helo", "client.test",
            "--from", "bob@sender.test",
            "--to", to,
            "--header", $"Subject: {subject}",
            "--body", "Hello Alice, this came by swaks.",
            "--timeout", "20",
            .. extra,
        ], timeout: TimeSpan.FromSeconds(60));
        output.WriteLine($"swaks exited {result.ExitCode}:\n{result.Output}");
        return result;
    }

    /// <summary>Sends with swaks, expects success, and returns the single message in Alice's inbox with its raw text.</summary>
    private async Task<(MessageSummary Message, string Raw, string Transcript)> DeliverAsync(string subject, params string[] extra)
    {
        var (exit, transcript) = await SwaksAsync(Alice, subject, extra);
        Assert.True(exit == 0, $"swaks exited {exit}:\n{transcript}");
        Assert.Contains("250 2.0.0 Ok: delivered", transcript);
        var message = Assert.Single(await _server.InboxAsync(Alice));
        Assert.Equal(subject, message.Metadata.Subject);
        var raw = await _server.RawMessageAsync(message);
        output.WriteLine($"stored:\n{raw}");
        return (message, raw, transcript);
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Plain_delivery_lands_in_the_inbox()
    {
        var (message, raw, transcript) = await DeliverAsync("swaks plain");
        Assert.Contains("250-PIPELINING", transcript);
        Assert.Contains("250-STARTTLS", transcript);
        Assert.Equal(["alice@example.test"], message.Metadata.To);
        Assert.StartsWith("Hello Alice, this came by swaks.", message.Metadata.Snippet);
        Assert.StartsWith("Return-Path: <bob@sender.test>\r\nReceived: from client.test ([127.0.0.1])\r\n\tby mx.test (MailActors) with ESMTP id ", raw);
        Assert.Contains("for <alice@example.test>;", raw);
        Assert.Contains("X-Mailer: swaks", raw);
        // swaks ends DATA with two empty lines before the dot: the stored bytes keep them (nothing trimmed).
        Assert.EndsWith("\r\n\r\nHello Alice, this came by swaks.\r\n\r\n\r\n", raw);
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Starttls_delivery_is_recorded_as_esmtps()
    {
        var (_, raw, transcript) = await DeliverAsync("swaks over tls", "--tls");
        Assert.Contains("=== TLS started with cipher", transcript);
        Assert.Contains("with ESMTPS id", raw);
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Pipelined_delivery_works()
    {
        var (_, raw, transcript) = await DeliverAsync("swaks pipelined", "--pipeline");
        AssertPipelined(transcript);
        Assert.Contains("with ESMTP id", raw);
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Starttls_and_pipelining_together()
    {
        var (_, raw, transcript) = await DeliverAsync("swaks tls pipelined", "--tls", "--pipeline");
        Assert.Contains("=== TLS started with cipher", transcript);
        AssertPipelined(transcript);
        Assert.Contains("with ESMTPS id", raw);
    }

    /// <summary>swaks sends MAIL, RCPT and DATA in one batch, so the three commands appear before any of their replies.</summary>
    private static void AssertPipelined(string transcript)
    {
        var mail = transcript.IndexOf(" MAIL FROM:<bob@sender.test>", StringComparison.Ordinal);
        var data = transcript.IndexOf(" DATA", mail, StringComparison.Ordinal);
        var firstReplyAfterMail = transcript.IndexOf("250 2.1.0", mail, StringComparison.Ordinal);
        Assert.True(mail >= 0 && data > mail && firstReplyAfterMail > data, $"MAIL/RCPT/DATA were not pipelined:\n{transcript}");
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Unknown_user_is_refused_with_550_5_1_1()
    {
        var (exit, transcript) = await SwaksAsync("nobody@example.test", "to nobody");
        Assert.NotEqual(0, exit);
        Assert.Contains("550 5.1.1 <nobody@example.test>", transcript);
        Assert.False(await _server.Mailboxes.ExistsAsync("nobody@example.test"));
        Assert.Empty(await _server.InboxAsync(Alice));
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Relaying_to_a_foreign_domain_is_refused_with_550_5_7_1()
    {
        var (exit, transcript) = await SwaksAsync("user@gmail.com", "relay me");
        Assert.NotEqual(0, exit);
        Assert.Contains("550 5.7.1 <user@gmail.com>: Relay access denied", transcript);
    }

    [RequiresToolFact(SwaksPath)]
    public async Task An_attachment_shows_up_in_the_metadata()
    {
        var file = Path.Combine(Path.GetTempPath(), $"swaks-attach-{Guid.NewGuid():N}.pdf");
        var content = new byte[3000];
        new Random(42).NextBytes(content);
        await File.WriteAllBytesAsync(file, content);
        try
        {
            var (message, raw, _) = await DeliverAsync("swaks attachment",
                "--attach-type", "application/pdf", "--attach-name", "report.pdf", "--attach", "@" + file);
            Assert.Contains("multipart/mixed", raw);
            var attachment = Assert.Single(message.Metadata.Attachments);
            Assert.Equal(("report.pdf", "application/pdf", 3000L), (attachment.FileName, attachment.ContentType, attachment.Size));
            Assert.StartsWith("Hello Alice, this came by swaks.", message.Metadata.Snippet);

            // The bytes survive swaks' base64 and our storage unchanged.
            using var stream = new MemoryStream(System.Text.Encoding.ASCII.GetBytes(raw));
            var parsed = await MimeMessage.LoadAsync(stream);
            var part = Assert.Single(parsed.Attachments.OfType<MimePart>());
            using var decoded = new MemoryStream();
            Assert.NotNull(part.Content);
            await part.Content.DecodeToAsync(decoded);
            Assert.Equal(content, decoded.ToArray());
        }
        finally
        {
            File.Delete(file);
        }
    }
}
