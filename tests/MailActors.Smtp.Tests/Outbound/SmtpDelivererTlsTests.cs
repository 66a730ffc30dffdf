using System.Net;
using System.Text;
using MailActors.Smtp.Outbound;
using Xunit;
using Xunit.Abstractions;

namespace MailActors.Smtp.Tests.Outbound;

/// <summary>STARTTLS on egress against our own MX, which offers it with a self-signed certificate.</summary>
public sealed class SmtpDelivererTlsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Alice = "alice@example.test";
    private static readonly byte[] Message = Encoding.UTF8.GetBytes("From: bob@remote.test\r\nTo: alice@example.test\r\nSubject: over tls\r\n\r\nHi Alice\r\n");
    private SmtpTestServer _mx = null!;

    public async Task InitializeAsync()
    {
        _mx = await SmtpTestServer.StartAsync();
        await _mx.AddUserAsync(Alice);
    }

    public async Task DisposeAsync() => await _mx.DisposeAsync();

    private SmtpDeliverer DelivererFor(int port, bool requireTls) => new(new EgressOptions
    {
        HeloName = "egress.remote.test", Port = port, RequireTls = requireTls, ConnectTimeout = TimeSpan.FromSeconds(5), CommandTimeout = TimeSpan.FromSeconds(20),
    });

    private static MxTarget Mx(string address) => new("mx.example.test", 10, [IPAddress.Parse(address)]);

    [Fact]
    public async Task Opportunistic_tls_takes_a_self_signed_certificate()
    {
        await using var deliverer = DelivererFor(_mx.Endpoint.Port, requireTls: false);

        var attempt = await deliverer.DeliverAsync([Mx("127.0.0.1")], new OutboundEnvelope("bob@remote.test", [Alice]), () => new MemoryStream(Message), CancellationToken.None);
        output.WriteLine(attempt.Results[0].Reply);

        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(attempt.Results).Outcome);
        var raw = await _mx.RawMessageAsync(Assert.Single(await _mx.InboxAsync(Alice)));
        output.WriteLine(raw);
        Assert.Contains("with ESMTPS id", raw); // the MX saw the transaction inside TLS
    }

    [Fact]
    public async Task Required_tls_refuses_a_certificate_that_does_not_validate()
    {
        await using var deliverer = DelivererFor(_mx.Endpoint.Port, requireTls: true);

        var attempt = await deliverer.DeliverAsync([Mx("127.0.0.1")], new OutboundEnvelope("bob@remote.test", [Alice]), () => new MemoryStream(Message), CancellationToken.None);
        output.WriteLine(attempt.Results[0].Reply);

        var result = Assert.Single(attempt.Results);
        Assert.Equal(RecipientOutcome.TemporaryFailure, result.Outcome);
        Assert.StartsWith("4.7.5 TLS with mx.example.test", result.Reply);
        Assert.Empty(await _mx.InboxAsync(Alice));
    }
}
