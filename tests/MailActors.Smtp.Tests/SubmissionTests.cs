using System.Text;
using System.Text.RegularExpressions;
using MailActors.Core;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace MailActors.Smtp.Tests;

/// <summary>SMTP submission against MailKit and a byte-exact client: AUTH over TLS, sender ownership, header completion, handler outcomes.</summary>
public sealed class SubmissionTests : IAsyncLifetime
{
    private const string Alice = "alice@example.test";
    private const string Password = SubmissionTestServer.Password;
    private SubmissionTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await SubmissionTestServer.StartAsync(o => o with { MaxRecipients = 3, MaxMessageSize = 100_000 });
        await _server.AddUserAsync(Alice);
        await _server.AddUserAsync("bob@example.test");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static MimeMessage Message(string subject, string from = Alice, params string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Alice", from));
        foreach (var rcpt in to.Length == 0 ? ["carol@remote.test"] : to) message.To.Add(MailboxAddress.Parse(rcpt));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello from the submission port." };
        return message;
    }

    private async Task<SmtpClient> ConnectAsync(SecureSocketOptions security = SecureSocketOptions.StartTls, bool implicitTls = false)
    {
        var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        var port = implicitTls ? _server.ImplicitTlsEndpoint.Port : _server.Endpoint.Port;
        await client.ConnectAsync("127.0.0.1", port, security);
        return client;
    }

    private static string Plain(string user, string password, string authzid = "") =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{authzid}\0{user}\0{password}"));

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>A raw session on the implicit-TLS port, greeted, optionally authenticated as Alice.</summary>
    private async Task<RawSmtp> RawTlsAsync(bool authenticate = true)
    {
        var raw = await RawSmtp.ConnectTlsAsync(_server.ImplicitTlsEndpoint);
        await raw.GreetAsync();
        if (authenticate) Assert.Equal("235 2.7.0 Authentication successful", await raw.CommandAsync("AUTH PLAIN " + Plain(Alice, Password)));
        return raw;
    }

    [Fact]
    public async Task MailKit_over_starttls_with_auth_plain_submits_and_missing_message_id_and_date_are_added()
    {
        using var client = await ConnectAsync();
        Assert.True(client.IsSecure);
        Assert.Equal(["LOGIN", "PLAIN"], client.AuthenticationMechanisms.Order());
        await client.AuthenticateAsync(new SaslMechanismPlain(Alice, Password));
        var message = Message("Quarterly numbers", Alice, "carol@remote.test", "Bob@Example.test");
        message.Headers.Remove(HeaderId.MessageId);
        message.Headers.Remove(HeaderId.Date);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        Assert.Contains("Ok: queued as", await client.SendAsync(message));
        await client.DisconnectAsync(true);

        var (submission, raw) = Assert.Single(_server.Handler.Received);
        Assert.Equal(MailboxId.Parse(Alice), submission.User);
        Assert.Equal(Alice, submission.Sender);
        Assert.Equal(["carol@remote.test", "Bob@Example.test"], submission.Recipients);
        Assert.Equal(Encoding.UTF8.GetByteCount(raw), submission.Size);

        Assert.StartsWith("Received: from ", raw);
        Assert.Contains("by submit.test (MailActors) with ESMTPSA id ", raw);
        Assert.DoesNotContain("Return-Path:", raw);
        Assert.DoesNotContain("\tfor <", raw); // could name a Bcc recipient
        var added = Regex.Match(raw, "\r\nMessage-ID: (<[0-9a-f]{32}@example\\.test>)\r\nDate: ([^\r]+)\r\n");
        Assert.True(added.Success, raw);
        Assert.Single(Regex.Matches(raw, "^Message-ID:", RegexOptions.Multiline | RegexOptions.IgnoreCase));
        Assert.Equal(added.Groups[1].Value, submission.Metadata.MessageIdHeader);
        Assert.InRange(submission.Metadata.Date!.Value, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(submission.Metadata.Date, DateTimeOffset.Parse(added.Groups[2].Value.Replace(" +0000", " +00:00")));
        Assert.Equal("Quarterly numbers", submission.Metadata.Subject);
        Assert.Equal((submission.Blob, submission.Size), (submission.Metadata.Blob, submission.Metadata.Size));
        Assert.Contains("Hello from the submission port.", raw);
    }

    [Fact]
    public async Task MailKit_with_auth_login_keeps_the_clients_headers_and_matches_addresses_case_insensitively()
    {
        using var client = await ConnectAsync();
        await client.AuthenticateAsync(new SaslMechanismLogin("Alice@Example.TEST", Password));
        var message = Message("with my own id", "ALICE@example.test");
        message.MessageId = "client-made@alice.example.test";
        await client.SendAsync(message, MailboxAddress.Parse("Alice@EXAMPLE.test"), [MailboxAddress.Parse("carol@remote.test")]);

        var (submission, raw) = Assert.Single(_server.Handler.Received);
        Assert.Equal(MailboxId.Parse(Alice), submission.User);
        Assert.Equal("Alice@EXAMPLE.test", submission.Sender);
        Assert.Equal("<client-made@alice.example.test>", submission.Metadata.MessageIdHeader);
        Assert.Single(Regex.Matches(raw, "^Message-ID:", RegexOptions.Multiline | RegexOptions.IgnoreCase));
        Assert.Single(Regex.Matches(raw, "^Date:", RegexOptions.Multiline));
        // Nothing added: the stored blob is the trace header, then what the client sent.
        Assert.Matches("^Received: from [^\r]+\r\n\tby submit.test \\(MailActors\\) with ESMTPSA id [^;]+;\r\n\t[^\r]+\r\n(From|Date|Subject|Message-Id|To|MIME-Version): ", raw);
    }

    [Fact]
    public async Task Before_starttls_auth_is_not_offered_and_refused_and_mail_needs_auth()
    {
        await using var raw = await RawSmtp.ConnectAsync(_server.Endpoint);
        await raw.ReadReplyAsync();
        await raw.SendAsync("EHLO client.test\r\n");
        var ehlo = (await raw.ReadReplyAsync())!;
        Assert.Contains("250-STARTTLS", ehlo);
        Assert.DoesNotContain(ehlo, l => l.Contains("AUTH"));
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await raw.CommandAsync("AUTH PLAIN " + Plain(Alice, Password)));
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await raw.CommandAsync("AUTH LOGIN"));
        Assert.Equal("530 5.7.0 Authentication required", await raw.CommandAsync($"MAIL FROM:<{Alice}>"));

        Assert.StartsWith("220 ", await raw.CommandAsync("STARTTLS"));
        await raw.UpgradeToTlsAsync();
        await raw.SendAsync("EHLO client.test\r\n");
        ehlo = (await raw.ReadReplyAsync())!;
        Assert.Contains("250-AUTH PLAIN LOGIN", ehlo);
        Assert.DoesNotContain(ehlo, l => l.Contains("STARTTLS"));
        Assert.Equal("530 5.7.0 Authentication required", await raw.CommandAsync($"MAIL FROM:<{Alice}>"));
        Assert.Equal("235 2.7.0 Authentication successful", await raw.CommandAsync("AUTH PLAIN " + Plain(Alice, Password)));
        Assert.StartsWith("250 ", await raw.CommandAsync($"MAIL FROM:<{Alice}>"));
        Assert.Empty(_server.Handler.Received);
    }

    [Fact]
    public async Task Sasl_exchanges_continuations_cancellation_and_refusals()
    {
        await using (var raw = await RawTlsAsync(authenticate: false))
        {
            Assert.Equal("334 ", await raw.CommandAsync("AUTH PLAIN"));
            Assert.Equal("501 5.0.0 Authentication cancelled", await raw.CommandAsync("*"));
            Assert.Equal("334 VXNlcm5hbWU6", await raw.CommandAsync("AUTH LOGIN"));
            Assert.Equal("334 UGFzc3dvcmQ6", await raw.CommandAsync(B64(Alice)));
            Assert.Equal("501 5.0.0 Authentication cancelled", await raw.CommandAsync("*"));
            Assert.Equal("501 5.5.2 Cannot decode response", await raw.CommandAsync("AUTH PLAIN %%%not-base64"));
            Assert.Equal("504 5.5.4 Unrecognized authentication type", await raw.CommandAsync("AUTH CRAM-MD5"));
            // PLAIN's authorization identity may only be oneself.
            Assert.Equal("535 5.7.8 Authentication credentials invalid", await raw.CommandAsync("AUTH PLAIN " + Plain(Alice, Password, authzid: "bob@example.test")));
            Assert.Equal("334 ", await raw.CommandAsync("AUTH PLAIN"));
            Assert.Equal("235 2.7.0 Authentication successful", await raw.CommandAsync(Plain(Alice, Password, authzid: "ALICE@example.test")));
            Assert.Equal("503 5.5.1 Error: already authenticated", await raw.CommandAsync("AUTH PLAIN " + Plain(Alice, Password)));
        }
        await using (var raw = await RawTlsAsync(authenticate: false))
        {
            Assert.Equal("334 UGFzc3dvcmQ6", await raw.CommandAsync("AUTH LOGIN " + B64("bob@example.test"))); // user name as initial response
            Assert.Equal("235 2.7.0 Authentication successful", await raw.CommandAsync(B64(Password)));
            Assert.StartsWith("250 ", await raw.CommandAsync("MAIL FROM:<bob@example.test>"));
        }
    }

    [Fact]
    public async Task A_wrong_password_and_an_unknown_user_get_the_same_535()
    {
        using var client = await ConnectAsync();
        var e = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismPlain(Alice, "wrong password here")));
        Assert.Contains("Authentication credentials invalid", e.Message);
        Assert.False(client.IsAuthenticated);

        await using var raw = await RawTlsAsync(authenticate: false);
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await raw.CommandAsync("AUTH PLAIN " + Plain(Alice, "wrong password here")));
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await raw.CommandAsync("AUTH PLAIN " + Plain("nobody@example.test", Password)));
        Assert.Equal("530 5.7.0 Authentication required", await raw.CommandAsync($"MAIL FROM:<{Alice}>"));
    }

    [Fact]
    public async Task An_envelope_sender_other_than_the_user_is_refused()
    {
        using var client = await ConnectAsync();
        await client.AuthenticateAsync(Alice, Password);
        var e = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            client.SendAsync(Message("spoof"), MailboxAddress.Parse("bob@example.test"), [MailboxAddress.Parse("carol@remote.test")]));
        Assert.Equal(SmtpStatusCode.MailboxNameNotAllowed, e.StatusCode);
        Assert.Equal("5.7.1 Sender address rejected: not owned by user alice@example.test", e.Message);

        await using var raw = await RawTlsAsync();
        Assert.Equal("553 5.7.1 Sender address rejected: not owned by user alice@example.test", await raw.CommandAsync("MAIL FROM:<>"));
        Assert.Equal("553 5.7.1 Sender address rejected: not owned by user alice@example.test", await raw.CommandAsync("MAIL FROM:<alice@example.test.evil.test>"));
        Assert.Equal("250 2.1.0 Ok", await raw.CommandAsync($"MAIL FROM:<{Alice}> AUTH=<>"));
        Assert.Empty(_server.Handler.Received);
    }

    [Fact]
    public async Task A_from_or_sender_header_not_owned_by_the_user_is_refused_and_nothing_is_submitted()
    {
        using var client = await ConnectAsync();
        await client.AuthenticateAsync(Alice, Password);
        var sender = MailboxAddress.Parse(Alice);
        MailboxAddress[] rcpts = [MailboxAddress.Parse("carol@remote.test")];

        var e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("ceo fraud", from: "ceo@example.test"), sender, rcpts));
        Assert.Equal(SmtpStatusCode.MailboxNameNotAllowed, e.StatusCode);
        Assert.Equal("5.7.1 From header address not owned by user", e.Message);

        var two = Message("two authors");
        two.From.Add(MailboxAddress.Parse("bob@example.test"));
        e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(two, sender, rcpts));
        Assert.Equal("5.7.1 From header address not owned by user", e.Message);

        var onBehalf = Message("on behalf");
        onBehalf.Sender = MailboxAddress.Parse("bob@example.test");
        e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(onBehalf, sender, rcpts));
        Assert.Equal("5.7.1 Sender header address not owned by user", e.Message);

        var noFrom = Message("anonymous");
        noFrom.From.Clear();
        e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(noFrom, sender, rcpts));
        Assert.Equal(SmtpStatusCode.TransactionFailed, e.StatusCode);

        Assert.Empty(_server.Handler.Received);
        // The session goes on; a display name is the user's own business.
        await client.SendAsync(Message("fine"), sender, rcpts);
        Assert.Equal("fine", Assert.Single(_server.Handler.Received).Submission.Metadata.Subject);
    }

    [Fact]
    public async Task The_implicit_tls_port_speaks_tls_from_the_first_byte()
    {
        using var client = await ConnectAsync(SecureSocketOptions.SslOnConnect, implicitTls: true);
        Assert.True(client.IsSecure);
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        await client.AuthenticateAsync(Alice, Password);
        await client.SendAsync(Message("over implicit tls"));
        await client.DisconnectAsync(true);
        var (submission, raw) = Assert.Single(_server.Handler.Received);
        Assert.Equal("over implicit tls", submission.Metadata.Subject);
        Assert.Contains("with ESMTPSA id", raw);
    }

    [Fact]
    public async Task Recipients_may_be_anywhere_but_are_syntax_checked_and_limited()
    {
        await using var raw = await RawTlsAsync();
        Assert.StartsWith("250", await raw.CommandAsync($"MAIL FROM:<{Alice}>"));
        Assert.Equal("250 2.1.5 Ok", await raw.CommandAsync("RCPT TO:<carol@remote.test>"));
        Assert.Equal("250 2.1.5 Ok", await raw.CommandAsync("RCPT TO:<dave@gmail.example>"));
        Assert.StartsWith("501 5.1.3", await raw.CommandAsync("RCPT TO:<not an address>"));
        Assert.StartsWith("501 5.1.3", await raw.CommandAsync("RCPT TO:<nodomain@>"));
        Assert.Equal("250 2.1.5 Ok", await raw.CommandAsync("RCPT TO:<postmaster>"));
        Assert.StartsWith("452 4.5.3", await raw.CommandAsync("RCPT TO:<erin@remote.test>"));
        Assert.StartsWith("354", await raw.CommandAsync("DATA"));
        Assert.StartsWith("250 2.0.0 Ok: queued", await raw.CommandAsync($"From: {Alice}\r\nSubject: three\r\n\r\nhi\r\n."));
        Assert.Equal(["carol@remote.test", "dave@gmail.example", "postmaster@example.test"], Assert.Single(_server.Handler.Received).Submission.Recipients);
    }

    [Fact]
    public async Task Bdat_is_received_like_data_and_completed_with_headers()
    {
        await using var raw = await RawTlsAsync();
        await raw.CommandAsync($"MAIL FROM:<{Alice}>");
        await raw.CommandAsync("RCPT TO:<carol@remote.test>");
        var part1 = $"From: <{Alice}>\r\nSubject: chunked\r\n";
        var part2 = "\r\nbody in two chunks\r\n";
        await raw.SendAsync($"BDAT {part1.Length}\r\n{part1}");
        Assert.StartsWith("250", (await raw.ReadReplyAsync())![0]);
        await raw.SendAsync($"BDAT {part2.Length} LAST\r\n{part2}");
        Assert.StartsWith("250 2.0.0 Ok: queued", (await raw.ReadReplyAsync())![0]);
        var (submission, stored) = Assert.Single(_server.Handler.Received);
        Assert.Matches("\r\nMessage-ID: <[0-9a-f]{32}@example.test>\r\nDate: .+\r\nFrom: <alice@example.test>\r\nSubject: chunked\r\n\r\nbody in two chunks\r\n$", stored);
        Assert.Equal("chunked", submission.Metadata.Subject);
    }

    [Fact]
    public async Task Body_limits_and_smuggling_checks_are_those_of_the_mx()
    {
        await using var raw = await RawTlsAsync();
        await raw.CommandAsync($"MAIL FROM:<{Alice}>");
        await raw.CommandAsync("RCPT TO:<carol@remote.test>");
        Assert.StartsWith("354", await raw.CommandAsync("DATA"));
        var big = string.Concat(Enumerable.Repeat(new string('x', 70) + "\r\n", 2000));
        Assert.StartsWith("552 5.3.4", await raw.CommandAsync($"From: {Alice}\r\n\r\n{big}."));

        await raw.CommandAsync($"MAIL FROM:<{Alice}>");
        await raw.CommandAsync("RCPT TO:<carol@remote.test>");
        Assert.StartsWith("354", await raw.CommandAsync("DATA"));
        Assert.StartsWith("554 5.6.11", await raw.CommandAsync($"From: {Alice}\r\n\r\nhello\n.\nMAIL FROM:<ceo@example.test>\r\n."));
        Assert.Empty(_server.Handler.Received);
    }

    [Fact]
    public async Task The_handlers_outcome_is_the_reply_and_its_failure_is_a_451()
    {
        await using var raw = await RawTlsAsync();
        async Task<string> SendAsync()
        {
            await raw.CommandAsync($"MAIL FROM:<{Alice}>");
            await raw.CommandAsync("RCPT TO:<carol@remote.test>");
            await raw.CommandAsync("DATA");
            return await raw.CommandAsync($"From: {Alice}\r\nSubject: x\r\n\r\nhi\r\n.");
        }
        _server.Handler.Answer = _ => new SubmissionOutcome(554, "554 5.7.1 Recipient refused by policy");
        Assert.Equal("554 5.7.1 Recipient refused by policy", await SendAsync());
        _server.Handler.Answer = _ => throw new InvalidOperationException("queue down");
        Assert.StartsWith("451 4.3.0", await SendAsync());
        _server.Handler.Answer = _ => new SubmissionOutcome(250, "250 2.0.0 Ok: queued as 42");
        Assert.Equal("250 2.0.0 Ok: queued as 42", await SendAsync());
    }
}
