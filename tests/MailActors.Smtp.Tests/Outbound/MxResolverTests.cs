using System.Net;
using MailActors.Smtp.Outbound;
using MailActors.Smtp.Tests.Peers;
using Xunit;

namespace MailActors.Smtp.Tests.Outbound;

/// <summary>MX resolution (RFC 5321 §5.1, RFC 7505) against a real DNS server: dnsmasq with the test's records only.</summary>
public sealed class MxResolverTests
{
    private static MxResolver ResolverFor(DnsmasqServer dns) =>
        new(new DnsOptions { Servers = [dns.Endpoint], Timeout = TimeSpan.FromSeconds(2), Retries = 0, UseCache = false });

    private static async Task<MxResolution> ResolveAsync(string domain, params string[] records)
    {
        await using var dns = await DnsmasqServer.StartAsync(records);
        return await ResolverFor(dns).ResolveAsync(domain, CancellationToken.None);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task Mx_hosts_come_in_preference_order_with_their_addresses()
    {
        var resolution = await ResolveAsync("order.test",
            "mx-host=order.test,mx30.order.test,30",
            "mx-host=order.test,mx10.order.test,10",
            "mx-host=order.test,mx20.order.test,20",
            "host-record=mx10.order.test,127.0.0.10",
            "host-record=mx20.order.test,127.0.0.20,::1",
            "host-record=mx30.order.test,127.0.0.30");

        Assert.Null(resolution.Failure);
        Assert.Equal(["mx10.order.test", "mx20.order.test", "mx30.order.test"], resolution.Targets.Select(t => t.Host));
        Assert.Equal([10, 20, 30], resolution.Targets.Select(t => t.Preference));
        Assert.Equal([IPAddress.Parse("127.0.0.20"), IPAddress.IPv6Loopback], resolution.Targets[1].Addresses); // IPv4 first
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task Equal_preferences_are_all_tried_in_varying_order()
    {
        await using var dns = await DnsmasqServer.StartAsync(
            "mx-host=equal.test,a.equal.test,10",
            "mx-host=equal.test,b.equal.test,10",
            "mx-host=equal.test,backup.equal.test,20",
            "host-record=a.equal.test,127.0.0.1",
            "host-record=b.equal.test,127.0.0.2",
            "host-record=backup.equal.test,127.0.0.3");
        var resolver = ResolverFor(dns);

        var orders = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            var resolution = await resolver.ResolveAsync("equal.test", CancellationToken.None);
            var hosts = resolution.Targets.Select(t => t.Host).ToList();
            Assert.Equal(["a.equal.test", "b.equal.test"], hosts.Take(2).Order());
            Assert.Equal("backup.equal.test", hosts[2]);
            orders.Add(string.Join(",", hosts));
        }
        Assert.Equal(2, orders.Count); // 40 draws all alike: chance 2^-39
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task A_domain_without_mx_is_its_own_mail_exchanger()
    {
        var resolution = await ResolveAsync("plain.test", "host-record=plain.test,127.0.0.1,::1");

        var target = Assert.Single(resolution.Targets);
        Assert.Equal(new MxTarget("plain.test", 0, target.Addresses), target);
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], target.Addresses);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task A_null_mx_is_a_permanent_failure()
    {
        var resolution = await ResolveAsync("nullmx.test", "mx-host=nullmx.test,.,0", "host-record=nullmx.test,127.0.0.1");

        Assert.Empty(resolution.Targets);
        Assert.True(resolution.Failure?.Permanent);
        Assert.Contains("does not accept mail", resolution.Failure!.Reason);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task A_domain_that_does_not_exist_is_a_permanent_failure()
    {
        var resolution = await ResolveAsync("nowhere.test", "host-record=elsewhere.test,127.0.0.1");

        Assert.Empty(resolution.Targets);
        Assert.True(resolution.Failure?.Permanent);
        Assert.Contains("NXDOMAIN", resolution.Failure!.Reason);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task An_mx_host_without_addresses_is_skipped()
    {
        var resolution = await ResolveAsync("skip.test",
            "mx-host=skip.test,gone.skip.test,5",
            "mx-host=skip.test,mail.skip.test,10",
            "host-record=mail.skip.test,127.0.0.1");

        Assert.Equal("mail.skip.test", Assert.Single(resolution.Targets).Host);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task Mx_hosts_that_all_lack_addresses_are_a_temporary_failure()
    {
        var resolution = await ResolveAsync("dangling.test", "mx-host=dangling.test,gone.dangling.test,10");

        Assert.Empty(resolution.Targets);
        Assert.False(resolution.Failure?.Permanent);
        Assert.Contains("gone.dangling.test", resolution.Failure!.Reason);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task An_internationalized_domain_is_looked_up_in_punycode()
    {
        var resolution = await ResolveAsync("Bücher.test.",
            "mx-host=xn--bcher-kva.test,mx.xn--bcher-kva.test,10",
            "host-record=mx.xn--bcher-kva.test,127.0.0.1");

        Assert.Equal("mx.xn--bcher-kva.test", Assert.Single(resolution.Targets).Host);
    }

    [Fact]
    public async Task An_unreachable_dns_server_is_a_temporary_failure()
    {
        var closed = new IPEndPoint(IPAddress.Loopback, ExternalTools.FreePort());
        var resolver = new MxResolver(new DnsOptions { Servers = [closed], Timeout = TimeSpan.FromMilliseconds(300), Retries = 0, UseCache = false });

        var resolution = await resolver.ResolveAsync("domain.test", CancellationToken.None);

        Assert.Empty(resolution.Targets);
        Assert.False(resolution.Failure?.Permanent);
    }

    [Theory]
    [InlineData("[127.0.0.1]", "127.0.0.1")]
    [InlineData("[IPv6:::1]", "::1")]
    [InlineData("[IPv6:2001:DB8::25]", "2001:db8::25")]
    public async Task An_address_literal_resolves_to_itself_without_dns(string domain, string address)
    {
        var noDns = new MxResolver(new DnsOptions { Servers = [new IPEndPoint(IPAddress.Loopback, ExternalTools.FreePort())], Timeout = TimeSpan.FromMilliseconds(100), Retries = 0 });

        var resolution = await noDns.ResolveAsync(domain, CancellationToken.None);

        var target = Assert.Single(resolution.Targets);
        Assert.Equal(IPAddress.Parse(address), Assert.Single(target.Addresses));
        Assert.Null(resolution.Failure);
    }

    [Theory]
    [InlineData("[127.0.1]")]
    [InlineData("[::1]")] // IPv6 needs the "IPv6:" tag (RFC 5321 §4.1.3)
    [InlineData("[IPv6:127.0.0.1]")]
    [InlineData("[example.test]")]
    [InlineData("bad..name")]
    public async Task A_malformed_domain_is_a_permanent_failure(string domain)
    {
        var noDns = new MxResolver(new DnsOptions { Servers = [new IPEndPoint(IPAddress.Loopback, ExternalTools.FreePort())], Timeout = TimeSpan.FromMilliseconds(100), Retries = 0 });

        var resolution = await noDns.ResolveAsync(domain, CancellationToken.None);

        Assert.Empty(resolution.Targets);
        Assert.True(resolution.Failure?.Permanent, resolution.Failure?.Reason);
    }
}
