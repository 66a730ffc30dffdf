using System.Net;
using System.Text;
using MailActors.Smtp.Outbound;
using MailActors.Smtp.Tests.Peers;
using Xunit;
using Xunit.Abstractions;

namespace MailActors.Smtp.Tests.Outbound;

/// <summary>Outbound delivery against Postfix's smtp-sink (and a scripted server where smtp-sink cannot play the part).</summary>
public sealed class SmtpDelivererTests(ITestOutputHelper output)
{
    private const string Sink = SmtpSink.SmtpSinkPath;
    private const string Alice = "alice@local.test";
    private const string Bob = "bob@remote.test";

    // CRLF, a line starting with "." (dot-stuffed on the wire) and an 8-bit body.
    private static readonly byte[] Message = Encoding.UTF8.GetBytes(
        "From: Alice <alice@local.test>\r\n" +
        "To: Bob <bob@remote.test>\r\n" +
        "Subject: outbound test\r\n" +
        "Message-ID: <outbound-1@local.test>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n" +
        "\r\n" +
        "Hello Bob,\r\n" +
        ".a line that starts with a dot\r\n" +
        "Grüße\r\n");

    private static Stream OpenMessage() => new MemoryStream(Message, writable: false);

    private static MxTarget Mx(string host, string address) => new(host, 10, [IPAddress.Parse(address)]);

    private static SmtpDeliverer DelivererFor(int port, Func<EgressOptions, EgressOptions>? tweak = null) =>
        new((tweak ?? (o => o))(new EgressOptions
        {
            HeloName = "egress.local.test",
            Port = port,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            CommandTimeout = TimeSpan.FromSeconds(20),
        }));

    private void Log(DeliveryAttempt attempt)
    {
        output.WriteLine($"host: {attempt.Host}");
        foreach (var r in attempt.Results) output.WriteLine($"{r.Recipient}: {r.Outcome} {r.Reply}");
    }

    [RequiresToolFact(Sink)]
    public async Task A_message_is_delivered_unchanged_with_its_envelope()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal("mx.remote.test", attempt.Host);
        var result = Assert.Single(attempt.Results);
        Assert.Equal(new RecipientResult(Bob, RecipientOutcome.Delivered, "250 2.0.0 Ok"), result);
        var dumped = Assert.Single(await sink.WaitForMessagesAsync(1));
        output.WriteLine(dumped);
        Assert.Contains("X-Helo-Args: egress.local.test\n", dumped);
        Assert.Contains($"X-Mail-Args: <{Alice}>", dumped);
        Assert.Contains($"X-Rcpt-Args: <{Bob}>", dumped);
        Assert.Contains(Encoding.UTF8.GetString(Message).ReplaceLineEndings("\n"), dumped); // byte for byte, dot unstuffed
    }

    [RequiresToolFact(Sink)]
    public async Task All_recipients_go_in_one_transaction_and_a_bounce_has_a_null_sender()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var deliverer = DelivererFor(sink.Port);
        string[] recipients = [Bob, "carol@remote.test", "dave@remote.test"];

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope("", recipients), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal(recipients, attempt.Results.Select(r => r.Recipient));
        Assert.All(attempt.Results, r => Assert.Equal(RecipientOutcome.Delivered, r.Outcome));
        var dumped = Assert.Single(await sink.WaitForMessagesAsync(1));
        Assert.Equal("X-Mail-Args: <> BODY=8BITMIME", dumped.Split('\n').Single(l => l.StartsWith("X-Mail-Args:")));
        Assert.Equal(recipients.Select(r => $"X-Rcpt-Args: <{r}>"), dumped.Split('\n').Where(l => l.StartsWith("X-Rcpt-Args:")));
    }

    [RequiresToolFact(Sink)]
    public async Task An_8bit_message_is_converted_to_7bit_for_a_server_without_8bitmime()
    {
        await using var sink = await SmtpSink.StartAsync(options: ["-8"]);
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);

        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
        var dumped = Assert.Single(await sink.WaitForMessagesAsync(1));
        output.WriteLine(dumped);
        Assert.Contains("Content-Transfer-Encoding: quoted-printable\n", dumped); // RFC 6152 §3: convert, don't send 8-bit
        Assert.Contains("Gr=C3=BC=C3=9Fe", dumped);
        Assert.DoesNotContain("BODY=8BITMIME", dumped);
    }

    [RequiresToolFact(Sink)]
    public async Task A_4xx_reply_to_rcpt_is_a_temporary_failure()
    {
        await using var sink = await SmtpSink.StartAsync(options: ["-r", "RCPT"]);
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob, "carol@remote.test"]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.All(attempt.Results, r => Assert.Equal((RecipientOutcome.TemporaryFailure, "450 4.3.0 Error: command failed"), (r.Outcome, r.Reply)));
        Assert.Equal("mx.remote.test", attempt.Host);
        Assert.Equal(0, sink.DumpedMessageCount);
    }

    [RequiresToolFact(Sink)]
    public async Task A_5xx_reply_to_rcpt_is_a_permanent_failure_with_the_remote_text()
    {
        await using var sink = await SmtpSink.StartAsync(options: ["-f", "RCPT", "-B", "550 5.1.1 Error: user unknown"]);
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal(new RecipientResult(Bob, RecipientOutcome.PermanentFailure, "550 5.1.1 Error: user unknown"), Assert.Single(attempt.Results));
        Assert.Equal(0, sink.DumpedMessageCount);
    }

    [RequiresToolFact(Sink)]
    public async Task A_refused_sender_fails_every_recipient_with_the_mail_reply()
    {
        await using var sink = await SmtpSink.StartAsync(options: ["-f", "MAIL", "-B", "553 5.7.1 <alice@local.test>: Sender address rejected"]);
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob, "carol@remote.test"]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.All(attempt.Results, r => Assert.Equal((RecipientOutcome.PermanentFailure, "553 5.7.1 <alice@local.test>: Sender address rejected"), (r.Outcome, r.Reply)));
    }

    [RequiresToolFact(Sink)]
    public async Task A_refused_data_fails_every_accepted_recipient()
    {
        await using (var hard = await SmtpSink.StartAsync(options: ["-f", "DATA", "-B", "554 5.6.0 Error: message content rejected"]))
        await using (var deliverer = DelivererFor(hard.Port))
        {
            var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob, "carol@remote.test"]), OpenMessage, CancellationToken.None);
            Log(attempt);
            Assert.All(attempt.Results, r => Assert.Equal((RecipientOutcome.PermanentFailure, "554 5.6.0 Error: message content rejected"), (r.Outcome, r.Reply)));
        }

        await using (var soft = await SmtpSink.StartAsync(options: ["-r", "."]))
        await using (var deliverer = DelivererFor(soft.Port))
        {
            var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
            Log(attempt);
            Assert.Equal((RecipientOutcome.TemporaryFailure, "450 4.3.0 Error: command failed"), (attempt.Results[0].Outcome, attempt.Results[0].Reply));
        }
    }

    [RequiresToolFact(Sink)]
    public async Task A_connection_dropped_mid_transaction_is_a_temporary_failure()
    {
        await using var sink = await SmtpSink.StartAsync(options: ["-q", "DATA"]);
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        var result = Assert.Single(attempt.Results);
        Assert.Equal(RecipientOutcome.TemporaryFailure, result.Outcome);
        Assert.StartsWith("4.4.2 lost connection with mx.remote.test", result.Reply);
    }

    [RequiresToolFact(Sink)]
    public async Task A_refused_connection_moves_on_to_the_next_target()
    {
        await using var sink = await SmtpSink.StartAsync(); // 127.0.0.1 only: 127.0.0.2 on the same port refuses
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("down.remote.test", "127.0.0.2"), Mx("up.remote.test", "127.0.0.1")],
            new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal("up.remote.test", attempt.Host);
        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
        Assert.Single(await sink.WaitForMessagesAsync(1));
    }

    [RequiresToolFact(Sink)]
    public async Task A_4xx_greeting_moves_on_to_the_next_target()
    {
        await using var busy = await SmtpSink.StartAsync("127.0.0.2", options: ["-r", "CONNECT"]);
        await using var sink = await SmtpSink.StartAsync("127.0.0.1", busy.Port);
        await using var deliverer = DelivererFor(sink.Port);

        var attempt = await deliverer.DeliverAsync([Mx("busy.remote.test", "127.0.0.2"), Mx("up.remote.test", "127.0.0.1")],
            new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal("up.remote.test", attempt.Host);
        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
        Assert.Equal(0, busy.DumpedMessageCount);
    }

    [Fact]
    public async Task When_every_target_is_down_every_recipient_fails_temporarily_with_the_last_reason()
    {
        var port = ExternalTools.FreePort();
        await using var deliverer = DelivererFor(port);
        var opened = false;

        var attempt = await deliverer.DeliverAsync([Mx("a.remote.test", "127.0.0.2"), Mx("b.remote.test", "127.0.0.3")],
            new OutboundEnvelope(Alice, [Bob, "carol@remote.test"]), () => { opened = true; return OpenMessage(); }, CancellationToken.None);
        Log(attempt);

        Assert.Null(attempt.Host);
        Assert.All(attempt.Results, r =>
        {
            Assert.Equal(RecipientOutcome.TemporaryFailure, r.Outcome);
            Assert.StartsWith($"4.4.1 connect to b.remote.test[127.0.0.3]:{port}: ", r.Reply);
        });
        Assert.False(opened); // the message is not read when nobody takes it
    }

    [RequiresToolFact(Sink)]
    public async Task The_next_message_to_the_same_host_reuses_the_connection()
    {
        await using var sink = await SmtpSink.StartAsync();
        var before = sink.Counters; // the readiness probe was one session
        await using (var deliverer = DelivererFor(sink.Port))
        {
            for (var i = 0; i < 3; i++)
            {
                var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
                Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
            }
            Assert.Equal(before.Sessions, sink.Counters.Sessions); // still open
        }

        // Disposing sent QUIT; the sink counts the session once it has seen the socket close, which can be after
        // the deliverer is done — so wait for it rather than kill the sink and lose the last counter line.
        var after = await sink.WaitForCountersAsync(c => c.Sessions > before.Sessions && c.Quits > before.Quits);
        Assert.Equal((before.Sessions + 1, before.Quits + 1, 3), after); // one session, closed with QUIT on dispose
    }

    [RequiresToolFact(Sink)]
    public async Task Concurrent_messages_to_one_host_share_at_most_the_allowed_connections()
    {
        await using var sink = await SmtpSink.StartAsync();
        var before = sink.Counters;
        await using (var deliverer = DelivererFor(sink.Port, o => o with { MaxConnectionsPerHost = 2 }))
        {
            var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
                deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None)));
            Assert.All(attempts, a => Assert.Equal(RecipientOutcome.Delivered, Assert.Single(a.Results).Outcome));
        }

        // Disposing sent QUIT on every connection; wait until the sink has counted every session it saw end.
        var after = await sink.WaitForCountersAsync(c => c.Messages == 8 && c.Sessions > before.Sessions && c.Sessions == c.Quits);
        output.WriteLine($"{after}");
        Assert.InRange(after.Sessions - before.Sessions, 1, 2);
        Assert.Equal(after.Sessions, after.Quits);
        Assert.Equal(8, after.Messages);
    }

    [RequiresToolFact(Sink)]
    public async Task An_idle_connection_is_closed_after_its_lifetime()
    {
        await using var sink = await SmtpSink.StartAsync();
        var before = sink.Counters;
        await using var deliverer = DelivererFor(sink.Port, o => o with { IdleConnectionLifetime = TimeSpan.FromMilliseconds(300) });

        await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);

        var after = await sink.WaitForCountersAsync(c => c.Quits > before.Quits);
        Assert.Equal((before.Sessions + 1, before.Quits + 1), (after.Sessions, after.Quits));
    }

    [RequiresToolFact(Sink)]
    public async Task A_pooled_connection_the_server_closed_is_replaced()
    {
        await using var sink = await SmtpSink.StartAsync(options: ["-t", "1"]); // the sink drops sessions idle for 1 s
        var before = sink.Counters;
        await using var deliverer = DelivererFor(sink.Port);

        await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        await sink.WaitForCountersAsync(c => c.Sessions > before.Sessions); // the sink timed our idle connection out
        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
        Assert.Equal(2, (await sink.WaitForMessagesAsync(2)).Count);
    }

    [RequiresToolFact(Sink)]
    public async Task Required_tls_does_not_send_to_a_server_without_starttls()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var deliverer = DelivererFor(sink.Port, o => o with { RequireTls = true });

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        var result = Assert.Single(attempt.Results);
        Assert.Equal(RecipientOutcome.TemporaryFailure, result.Outcome);
        Assert.StartsWith("4.7.4 mx.remote.test", result.Reply);
        Assert.Equal(0, sink.DumpedMessageCount);
    }

    [Fact]
    public async Task Each_recipient_gets_its_own_reply_and_the_accepted_ones_get_the_message()
    {
        await using var server = new ScriptedSmtpServer(rcpt => rcpt switch
        {
            "nobody@remote.test" => "550 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown",
            "full@remote.test" => "452 4.2.2 <full@remote.test>: mailbox full",
            _ => null,
        });
        await using var deliverer = DelivererFor(server.Port);

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.1")],
            new OutboundEnvelope(Alice, [Bob, "nobody@remote.test", "full@remote.test", "carol@remote.test"]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal([
            new RecipientResult(Bob, RecipientOutcome.Delivered, "250 2.0.0 Ok: queued as 1"),
            new RecipientResult("nobody@remote.test", RecipientOutcome.PermanentFailure, "550 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown"),
            new RecipientResult("full@remote.test", RecipientOutcome.TemporaryFailure, "452 4.2.2 <full@remote.test>: mailbox full"),
            new RecipientResult("carol@remote.test", RecipientOutcome.Delivered, "250 2.0.0 Ok: queued as 1"),
        ], attempt.Results);
        var (recipients, data) = Assert.Single(server.Messages);
        Assert.Equal([Bob, "carol@remote.test"], recipients);
        Assert.Equal(Encoding.UTF8.GetString(Message), data);
    }

    [Fact]
    public async Task A_smart_host_takes_everything_and_gets_auth()
    {
        await using var relay = new ScriptedSmtpServer();
        await using var deliverer = DelivererFor(ExternalTools.FreePort(), o => o with { SmartHost = new SmartHost("127.0.0.1", relay.Port, "egress", "s3cret") });

        var attempt = await deliverer.DeliverAsync([Mx("mx.remote.test", "127.0.0.2")], new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal("127.0.0.1", attempt.Host);
        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
        Assert.Equal(["egress:s3cret"], relay.Logins);
        Assert.Single(relay.Messages);
    }

    [Fact]
    public void A_smart_host_does_not_print_its_password()
    {
        var text = new SmartHost("relay.test", 587, "egress", "s3cret").ToString();

        Assert.Contains("relay.test", text);
        Assert.DoesNotContain("s3cret", text);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath, Sink)]
    public async Task A_domain_resolved_through_dns_gets_its_mail()
    {
        await using var dns = await DnsmasqServer.StartAsync(
            "mx-host=remote.test,backup.remote.test,20",
            "mx-host=remote.test,mx.remote.test,10",
            "host-record=mx.remote.test,127.0.0.1",
            "host-record=backup.remote.test,127.0.0.2");
        await using var sink = await SmtpSink.StartAsync();
        var resolver = new MxResolver(new DnsOptions { Servers = [dns.Endpoint], Timeout = TimeSpan.FromSeconds(2), Retries = 0 });
        await using var deliverer = DelivererFor(sink.Port);

        var resolution = await resolver.ResolveAsync("remote.test", CancellationToken.None);
        var attempt = await deliverer.DeliverAsync(resolution.Targets, new OutboundEnvelope(Alice, [Bob]), OpenMessage, CancellationToken.None);
        Log(attempt);

        Assert.Equal("mx.remote.test", attempt.Host);
        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
        Assert.Contains("Subject: outbound test", Assert.Single(await sink.WaitForMessagesAsync(1)));
    }
}
