using System.Net;
using System.Text;
using Xunit;

namespace MailActors.Smtp.Tests;

/// <summary>Failed AUTH attempts are limited per client address and per account.</summary>
public sealed class SubmissionThrottleTests
{
    private const string Alice = "alice@example.test";
    private const string Password = SubmissionTestServer.Password;

    private static string Plain(string user, string password) =>
        "AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    private static async Task<RawSmtp> ConnectAsync(SubmissionTestServer server)
    {
        var raw = await RawSmtp.ConnectTlsAsync(server.ImplicitTlsEndpoint);
        await raw.GreetAsync();
        return raw;
    }

    [Fact]
    public async Task After_too_many_failures_from_one_address_even_the_right_password_gets_454_and_the_connection_closes()
    {
        await using var server = await SubmissionTestServer.StartAsync(o => o with { MaxAuthFailuresPerAddress = 3, MaxAuthFailuresPerAccount = 100 });
        await server.AddUserAsync(Alice);
        await using (var raw = await ConnectAsync(server))
        {
            Assert.StartsWith("535 5.7.8", await raw.CommandAsync(Plain(Alice, "guess number one")));
            Assert.StartsWith("535 5.7.8", await raw.CommandAsync(Plain("bob@example.test", "guess number two")));
            Assert.StartsWith("535 5.7.8", await raw.CommandAsync(Plain("carol@example.test", "guess number three")));
            Assert.Equal("454 4.7.0 Too many failed attempts, try later", await raw.CommandAsync(Plain(Alice, Password)));
            Assert.Null(await raw.ReadReplyAsync()); // closed
        }
        await using (var raw = await ConnectAsync(server))
        {
            Assert.Equal("454 4.7.0 Too many failed attempts, try later", await raw.CommandAsync("AUTH LOGIN"));
        }
        Assert.Empty(server.Handler.Received);
    }

    [Fact]
    public async Task After_too_many_failures_against_one_account_that_account_is_locked_but_others_are_not()
    {
        await using var server = await SubmissionTestServer.StartAsync(o => o with { MaxAuthFailuresPerAddress = 100, MaxAuthFailuresPerAccount = 2 });
        await server.AddUserAsync(Alice);
        await server.AddUserAsync("bob@example.test");
        await using (var raw = await ConnectAsync(server))
        {
            Assert.StartsWith("535", await raw.CommandAsync(Plain(Alice, "guess number one")));
            Assert.StartsWith("535", await raw.CommandAsync(Plain("ALICE@example.test", "guess number two"))); // same account, other spelling
            Assert.Equal("454 4.7.0 Too many failed attempts, try later", await raw.CommandAsync(Plain(Alice, Password)));
        }
        await using (var raw = await ConnectAsync(server))
        {
            Assert.Equal("235 2.7.0 Authentication successful", await raw.CommandAsync(Plain("bob@example.test", Password)));
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Failures_are_forgotten_after_the_window_and_ipv6_is_counted_per_64()
    {
        var clock = new ManualClock();
        var options = new SubmissionOptions { MaxAuthFailuresPerAddress = 2, MaxAuthFailuresPerAccount = 5, AuthFailureWindow = TimeSpan.FromMinutes(10) };
        var throttle = new SubmissionAuthThrottle(options, clock);
        var a = IPAddress.Parse("2001:db8:1:2::10");
        var sameSubnet = IPAddress.Parse("2001:db8:1:2:ffff::1");
        var otherSubnet = IPAddress.Parse("2001:db8:1:3::10");

        throttle.RecordFailure(a, "x@example.test");
        Assert.False(throttle.IsBlocked(sameSubnet, null));
        throttle.RecordFailure(sameSubnet, "y@example.test");
        Assert.True(throttle.IsBlocked(a, null));
        Assert.False(throttle.IsBlocked(otherSubnet, "X@Example.test"));

        clock.Now += TimeSpan.FromMinutes(10);
        Assert.False(throttle.IsBlocked(a, null));
        throttle.RecordFailure(a, "x@example.test");
        Assert.False(throttle.IsBlocked(a, null)); // a fresh window
        Assert.Equal("ip:10.1.2.3", SubmissionAuthThrottle.AddressKey(IPAddress.Parse("10.1.2.3").MapToIPv6()));
    }

    [Fact]
    public void Account_failures_count_across_addresses_and_spellings()
    {
        var options = new SubmissionOptions { MaxAuthFailuresPerAddress = 100, MaxAuthFailuresPerAccount = 2 };
        var throttle = new SubmissionAuthThrottle(options);
        throttle.RecordFailure(IPAddress.Parse("192.0.2.1"), "alice@example.test");
        throttle.RecordFailure(IPAddress.Parse("198.51.100.7"), " Alice@EXAMPLE.test ");
        Assert.True(throttle.IsBlocked(IPAddress.Parse("203.0.113.9"), "alice@example.test"));
        Assert.False(throttle.IsBlocked(IPAddress.Parse("203.0.113.9"), "bob@example.test"));
    }
}
