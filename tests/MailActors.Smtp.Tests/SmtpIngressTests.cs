using MailActors.Core;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace MailActors.Smtp.Tests;

/// <summary>The MX against MailKit's SmtpClient and a byte-exact client: delivery, refusals, every limit.</summary>
public sealed class SmtpIngressTests : IAsyncLifetime
{
    private SmtpTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await SmtpTestServer.StartAsync(o => o with
        {
            MaxMessageSize = 200_000,
            MaxRecipients = 3,
            MaxDataLineLength = 5_000,
            MaxHeaderBytes = 20_000,
            MaxCommandLine = 512,
            MaxErrors = 4,
            MaxCommandsWithoutMail = 8,
            CommandTimeout = TimeSpan.FromSeconds(2),
            MaxConnectionsPerAddress = 4,
        });
        await _server.AddUserAsync("alice@example.test");
        await _server.AddUserAsync("bob@example.test");
        await _server.AddUserAsync("small@example.test", quota: 2_000);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static MimeMessage Message(string subject, string to = "alice@example.test", string body = "Hello Alice, see the attached report.", byte[]? attachment = null)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Bob Sender", "bob@sender.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        var builder = new BodyBuilder { TextBody = body };
        if (attachment is not null) builder.Attachments.Add("report.pdf", attachment, new ContentType("application", "pdf"));
        message.Body = builder.ToMessageBody();
        return message;
    }

    private async Task<SmtpClient> ConnectAsync(SecureSocketOptions security = SecureSocketOptions.None)
    {
        var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", _server.Endpoint.Port, security);
        return client;
    }

    [Fact]
    public async Task Mail_is_searchable_by_its_body_as_soon_as_the_server_says_250()
    {
        using var client = await ConnectAsync();
        var html = Message("Weekly digest");
        html.Body = new TextPart("html") { Text = "<p>The <b>okapi</b> exhibit opens on Monday.</p><script>ignored()</script>" };
        await client.SendAsync(html); // returns on 250: every mailbox event is durable
        await client.SendAsync(Message("Plain", body: "Nothing about that animal here."));

        var hits = await _server.Mailboxes.SearchAsync("alice@example.test", "okapi exhibit ");
        Assert.Equal("Weekly digest", Assert.Single(hits.Items).Metadata.Subject);
        Assert.Empty((await _server.Mailboxes.SearchAsync("alice@example.test", "ignored ")).Items); // script text is not body text
        Assert.Empty((await _server.Mailboxes.SearchAsync("bob@example.test", "okapi")).Items);
    }

    [Fact]
    public async Task MailKit_delivers_into_the_mailbox_with_trace_headers_and_metadata()
    {
        using var client = await ConnectAsync();
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Chunking));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        Assert.Equal(200_000u, client.MaxSize);
        var response = await client.SendAsync(Message("Quarterly report", attachment: new byte[3000]));
        Assert.Contains("Ok: delivered", response);
        await client.DisconnectAsync(true);

        var message = Assert.Single(await _server.InboxAsync("alice@example.test"));
        Assert.Equal("Quarterly report", message.Metadata.Subject);
        Assert.Equal("\"Bob Sender\" <bob@sender.test>", message.Metadata.From);
        Assert.Equal(["alice@example.test"], message.Metadata.To);
        Assert.StartsWith("Hello Alice", message.Metadata.Snippet);
        var attachment = Assert.Single(message.Metadata.Attachments);
        Assert.Equal(("report.pdf", "application/pdf", 3000L), (attachment.FileName, attachment.ContentType, attachment.Size));

        var raw = await _server.RawMessageAsync(message);
        Assert.StartsWith("Return-Path: <bob@sender.test>\r\nReceived: from ", raw);
        Assert.Contains("by mx.test (MailActors) with ESMTP id ", raw);
        Assert.Contains("for <alice@example.test>;", raw);
        Assert.Equal(raw.Length, message.Metadata.Size); // ASCII message: characters = bytes
    }

    [Fact]
    public async Task Starttls_upgrades_and_the_received_header_says_so()
    {
        using var client = await ConnectAsync(SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        await client.SendAsync(Message("over tls"));
        await client.DisconnectAsync(true);
        var message = Assert.Single(await _server.InboxAsync("alice@example.test"));
        Assert.Contains("with ESMTPS id", await _server.RawMessageAsync(message));
    }

    [Fact]
    public async Task One_message_to_several_recipients_is_stored_once()
    {
        using var client = await ConnectAsync();
        var message = Message("to both");
        message.To.Add(MailboxAddress.Parse("bob@example.test"));
        await client.SendAsync(message);
        var a = Assert.Single(await _server.InboxAsync("alice@example.test"));
        var b = Assert.Single(await _server.InboxAsync("bob@example.test"));
        Assert.Equal(a.Metadata.Blob, b.Metadata.Blob);
        Assert.DoesNotContain("\tfor <", await _server.RawMessageAsync(a)); // no single recipient to name
    }

    [Fact]
    public async Task The_same_message_sent_twice_after_a_lost_reply_is_stored_once()
    {
        var message = Message("retried");
        using (var client = await ConnectAsync()) await client.SendAsync(message);
        using (var client = await ConnectAsync()) await client.SendAsync(message); // identical bytes, as a retrying MTA sends
        Assert.Single(await _server.InboxAsync("alice@example.test"));
    }

    [Fact]
    public async Task Unknown_users_are_refused_at_rcpt_and_create_no_mailbox()
    {
        using var client = await ConnectAsync();
        var e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("x", to: "nobody@example.test")));
        Assert.Equal(SmtpStatusCode.MailboxUnavailable, e.StatusCode);
        Assert.Contains("User unknown", e.Message);
        Assert.False(await _server.Mailboxes.ExistsAsync("nobody@example.test"));
    }

    [Fact]
    public async Task Relaying_to_a_foreign_domain_is_denied()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        Assert.StartsWith("250", await raw.CommandAsync("MAIL FROM:<spammer@evil.test>"));
        Assert.StartsWith("550 5.7.1", await raw.CommandAsync("RCPT TO:<victim@gmail.com>"));
        Assert.StartsWith("550 5.7.1", await raw.CommandAsync("RCPT TO:<alice@example.test.evil.test>"));
        Assert.StartsWith("250", await raw.CommandAsync("RCPT TO:<alice@EXAMPLE.test>"));
    }

    [Fact]
    public async Task Oversize_messages_are_refused_by_declared_size_and_by_actual_size()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        Assert.StartsWith("552 5.3.4", await raw.CommandAsync("MAIL FROM:<a@sender.test> SIZE=300000"));

        using var client = await ConnectAsync();
        var e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("big", body: new string('x', 70) + "\r\n" + string.Concat(Enumerable.Repeat(new string('y', 70) + "\r\n", 4000)))));
        Assert.Equal(SmtpStatusCode.ExceededStorageAllocation, e.StatusCode);
        Assert.Empty(await _server.InboxAsync("alice@example.test"));
    }

    [Fact]
    public async Task Too_many_recipients_get_452()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        await raw.CommandAsync("MAIL FROM:<a@sender.test>");
        await raw.CommandAsync("RCPT TO:<alice@example.test>");
        await raw.CommandAsync("RCPT TO:<bob@example.test>");
        await raw.CommandAsync("RCPT TO:<small@example.test>");
        Assert.StartsWith("452 4.5.3", await raw.CommandAsync("RCPT TO:<alice@localhost>"));
    }

    [Fact]
    public async Task Over_quota_is_refused_at_rcpt_with_the_declared_size()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        await raw.CommandAsync("MAIL FROM:<a@sender.test> SIZE=5000");
        Assert.StartsWith("552 5.2.2", await raw.CommandAsync("RCPT TO:<small@example.test>"));
    }

    [Fact]
    public async Task Delivery_beyond_quota_after_data_is_refused_with_552()
    {
        using var client = await ConnectAsync();
        var e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("fat", to: "small@example.test", body: new string('z', 70) + "\r\n" + string.Concat(Enumerable.Repeat(new string('q', 70) + "\r\n", 50)))));
        Assert.Equal(SmtpStatusCode.ExceededStorageAllocation, e.StatusCode);
        Assert.Empty(await _server.InboxAsync("small@example.test"));
    }

    [Fact]
    public async Task A_smuggled_message_is_refused_and_nothing_is_delivered()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        await raw.CommandAsync("MAIL FROM:<a@sender.test>");
        await raw.CommandAsync("RCPT TO:<alice@example.test>");
        Assert.StartsWith("354", await raw.CommandAsync("DATA"));
        await raw.SendAsync("Subject: innocent\r\n\r\nhello\r\n\n.\r\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n");
        var reply = (await raw.ReadReplyAsync())![0];
        Assert.StartsWith("554 5.6.11", reply);
        // The session goes on: the smuggled commands were content, not commands.
        Assert.StartsWith("250", await raw.CommandAsync("NOOP"));
        Assert.Empty(await _server.InboxAsync("alice@example.test"));
        Assert.Empty(await _server.InboxAsync("bob@example.test"));
    }

    [Fact]
    public async Task Pipelined_commands_get_their_replies_in_order()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.ReadReplyAsync();
        await raw.SendAsync("EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
        Assert.StartsWith("250 HELP", (await raw.ReadReplyAsync())![^1]);
        Assert.StartsWith("250 2.1.0", (await raw.ReadReplyAsync())![0]);
        Assert.StartsWith("250 2.1.5", (await raw.ReadReplyAsync())![0]);
        Assert.StartsWith("550 5.1.1", (await raw.ReadReplyAsync())![0]);
        Assert.StartsWith("250 2.1.5", (await raw.ReadReplyAsync())![0]);
        Assert.StartsWith("354", (await raw.ReadReplyAsync())![0]);
        await raw.SendAsync("Subject: piped\r\n\r\n..dot line\r\n.\r\nQUIT\r\n");
        Assert.StartsWith("250 2.0.0", (await raw.ReadReplyAsync())![0]);
        Assert.StartsWith("221", (await raw.ReadReplyAsync())![0]);
        var message = Assert.Single(await _server.InboxAsync("bob@example.test"));
        Assert.EndsWith("\r\n\r\n.dot line\r\n", await _server.RawMessageAsync(message));
    }

    [Fact]
    public async Task Bdat_chunks_deliver_a_message()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        await raw.CommandAsync("MAIL FROM:<a@sender.test>");
        await raw.CommandAsync("RCPT TO:<alice@example.test>");
        const string part1 = "Subject: chunked\r\n\r\n";
        const string part2 = ".not stuffed\r\nend\r\n";
        await raw.SendAsync($"BDAT {part1.Length}\r\n{part1}");
        Assert.StartsWith("250 2.0.0 20 octets", (await raw.ReadReplyAsync())![0]);
        await raw.SendAsync($"BDAT {part2.Length} LAST\r\n{part2}");
        Assert.StartsWith("250 2.0.0 Ok", (await raw.ReadReplyAsync())![0]);
        var message = Assert.Single(await _server.InboxAsync("alice@example.test"));
        Assert.Equal("chunked", message.Metadata.Subject);
        Assert.EndsWith(part1 + part2, await _server.RawMessageAsync(message));
    }

    [Fact]
    public async Task Refused_bdat_chunks_are_still_read_so_the_session_stays_in_step()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        await raw.SendAsync("BDAT 10\r\nNOOP NOOP\n");
        Assert.StartsWith("503 5.5.1", (await raw.ReadReplyAsync())![0]);
        Assert.StartsWith("250", await raw.CommandAsync("NOOP"));
    }

    [Theory]
    [InlineData("MAIL FROM:<a@sender.test>", "503 5.5.1")] // before EHLO
    public async Task Commands_out_of_order_are_refused(string command, string expected)
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.ReadReplyAsync();
        Assert.StartsWith(expected, await raw.CommandAsync(command));
    }

    [Fact]
    public async Task Malformed_commands_get_5xx_and_the_session_survives()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        Assert.StartsWith("500 5.5.2", await raw.CommandAsync("FROB"));
        Assert.StartsWith("501 5.5.4", await raw.CommandAsync("MAIL TO:<x@y.test>"));
        Assert.StartsWith("501 5.1.7", await raw.CommandAsync("MAIL FROM:<not an address>"));
        Assert.StartsWith("250", await raw.CommandAsync("NOOP"));
        Assert.StartsWith("503 5.5.1", await raw.CommandAsync("RCPT TO:<alice@example.test>"));
        // Four errors: the limit closes the session with 421.
        var last = await raw.ReadReplyAsync();
        Assert.StartsWith("421 4.7.0", last![0]);
    }

    [Fact]
    public async Task Overlong_command_lines_are_refused()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        Assert.StartsWith("500 5.5.2", await raw.CommandAsync("NOOP " + new string('x', 600)));
        Assert.StartsWith("250", await raw.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Overlong_data_lines_and_header_sections_are_refused()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        await raw.CommandAsync("MAIL FROM:<a@sender.test>");
        await raw.CommandAsync("RCPT TO:<alice@example.test>");
        await raw.CommandAsync("DATA");
        await raw.SendAsync("Subject: long\r\n\r\n" + new string('a', 6000) + "\r\n.\r\n");
        Assert.StartsWith("554 5.6.0", (await raw.ReadReplyAsync())![0]);

        await raw.CommandAsync("MAIL FROM:<a@sender.test>");
        await raw.CommandAsync("RCPT TO:<alice@example.test>");
        await raw.CommandAsync("DATA");
        await raw.SendAsync(string.Concat(Enumerable.Range(0, 300).Select(i => $"X-Filler-{i}: {new string('h', 100)}\r\n")) + "\r\nbody\r\n.\r\n");
        Assert.StartsWith("554 5.6.0", (await raw.ReadReplyAsync())![0]);
        Assert.Empty(await _server.InboxAsync("alice@example.test"));
    }

    [Fact]
    public async Task Too_many_commands_without_mail_close_the_session()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        string? last = null;
        for (var i = 0; i < 10 && last?.StartsWith("421") != true; i++) last = await raw.CommandAsync("NOOP");
        Assert.StartsWith("421 4.7.0", last);
    }

    [Fact]
    public async Task An_idle_client_is_disconnected_with_421()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.ReadReplyAsync();
        var reply = await raw.ReadReplyAsync(TimeSpan.FromSeconds(10)); // sends nothing
        Assert.StartsWith("421 4.4.2", reply![0]);
    }

    [Fact]
    public async Task Connections_over_the_per_address_limit_get_421()
    {
        var open = new List<RawSmtp>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var c = await RawSmtp.ConnectAsync(_server.Endpoint);
                Assert.StartsWith("220", (await c.ReadReplyAsync())![0]);
                open.Add(c);
            }
            await using var extra = await RawSmtp.ConnectAsync(_server.Endpoint);
            Assert.StartsWith("421 4.7.0", (await extra.ReadReplyAsync())![0]);
        }
        finally
        {
            foreach (var c in open) await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Broken_mime_is_still_stored_and_readable_as_raw_text()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        await raw.CommandAsync("MAIL FROM:<a@sender.test>");
        await raw.CommandAsync("RCPT TO:<alice@example.test>");
        await raw.CommandAsync("DATA");
        const string broken = "Subject: =?utf-8?B?broken???=\r\nContent-Type: multipart/mixed; boundary=\"never-closed\"\r\nDate: not a date\r\n\r\n--never-closed\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!! not base64 ####\r\n";
        await raw.SendAsync(broken + ".\r\n");
        Assert.StartsWith("250", (await raw.ReadReplyAsync())![0]);
        var message = Assert.Single(await _server.InboxAsync("alice@example.test"));
        Assert.EndsWith(broken, await _server.RawMessageAsync(message));
    }

    [Fact]
    public async Task Vrfy_does_not_enumerate_users_and_help_and_rset_work()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        Assert.StartsWith("252", await raw.CommandAsync("VRFY alice"));
        Assert.StartsWith("252", await raw.CommandAsync("VRFY nobody"));
        Assert.StartsWith("214", await raw.CommandAsync("HELP"));
        await raw.CommandAsync("MAIL FROM:<a@sender.test>");
        Assert.StartsWith("250", await raw.CommandAsync("RSET"));
        Assert.StartsWith("503", await raw.CommandAsync("RCPT TO:<alice@example.test>"));
        Assert.StartsWith("221", await raw.CommandAsync("QUIT"));
    }

    [Fact]
    public async Task The_null_sender_and_smtputf8_are_accepted()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.GreetAsync();
        Assert.StartsWith("250", await raw.CommandAsync("MAIL FROM:<> BODY=8BITMIME"));
        await raw.CommandAsync("RCPT TO:<alice@example.test>");
        await raw.CommandAsync("DATA");
        await raw.SendAsync("Subject: bounce\r\n\r\nreport\r\n.\r\n");
        Assert.StartsWith("250", (await raw.ReadReplyAsync())![0]);
        Assert.StartsWith("553 5.6.7", await raw.CommandAsync("MAIL FROM:<jörg@sender.test>"));
        Assert.StartsWith("250", await raw.CommandAsync("MAIL FROM:<jörg@sender.test> SMTPUTF8"));
    }
}
