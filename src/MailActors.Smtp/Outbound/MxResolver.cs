using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;

namespace MailActors.Smtp.Outbound;

/// <summary>
/// Finds the hosts that accept mail for a domain (RFC 5321 §5.1): MX records by preference, equal
/// preferences shuffled so load spreads, each host resolved to A and AAAA; no MX = the domain itself
/// (implicit MX); a lone "." MX (RFC 7505 null MX) = the domain accepts no mail.
/// </summary>
public sealed class MxResolver
{
    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true };
    private readonly LookupClient _dns;

    public MxResolver(DnsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var lookup = options.Servers.Count == 0 ? new LookupClientOptions() : new LookupClientOptions(options.Servers.ToArray());
        lookup.Timeout = options.Timeout;
        lookup.Retries = options.Retries;
        lookup.UseCache = options.UseCache;
        // NXDOMAIN and SERVFAIL must be told apart (permanent vs temporary): read the response code instead of catching.
        lookup.ThrowDnsErrors = false;
        lookup.UseTcpFallback = true;
        _dns = new LookupClient(lookup);
    }

    public async Task<MxResolution> ResolveAsync(string domain, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(domain);
        domain = domain.Trim();
        if (domain.StartsWith('[')) return ResolveAddressLiteral(domain);

        string name;
        try
        {
            name = Idn.GetAscii(domain.TrimEnd('.')).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return Failed(permanent: true, $"5.1.2 {domain}: not a valid domain name");
        }

        var mx = await QueryAsync(name, QueryType.MX, ct);
        if (mx.Status == LookupStatus.NoSuchDomain) return Failed(permanent: true, $"5.1.2 {name}: domain does not exist (NXDOMAIN)");
        if (mx.Status == LookupStatus.Failed) return Failed(permanent: false, $"4.4.3 {mx.Detail}");

        var records = mx.Answers.MxRecords().ToList();
        if (records.Count == 0) return await ResolveImplicitMxAsync(name, ct);

        var exchanges = records
            .Select(r => (Host: r.Exchange.Value.TrimEnd('.').ToLowerInvariant(), Preference: (int)r.Preference))
            .Where(r => r.Host.Length > 0) // RFC 7505: "." is the null MX
            .ToList();
        if (exchanges.Count == 0) return Failed(permanent: true, $"5.1.10 {name}: domain does not accept mail (null MX, RFC 7505)");

        var ordered = exchanges
            .GroupBy(e => e.Host, StringComparer.Ordinal).Select(g => g.MinBy(e => e.Preference)) // a host listed twice counts once
            .GroupBy(e => e.Preference).OrderBy(g => g.Key)
            .SelectMany(g =>
            {
                var same = g.ToArray();
                Random.Shared.Shuffle(same); // RFC 5321 §5.1: spread load over equal preferences
                return same;
            })
            .ToList();

        var resolved = await Task.WhenAll(ordered.Select(e => AddressesAsync(e.Host, ct)));
        var targets = new List<MxTarget>();
        for (var i = 0; i < ordered.Count; i++)
        {
            if (resolved[i].Addresses.Count > 0) targets.Add(new MxTarget(ordered[i].Host, ordered[i].Preference, resolved[i].Addresses));
        }
        if (targets.Count > 0) return new MxResolution(targets, null);

        // The domain exists and names mail exchangers; none resolving yet is taken as a transient DNS problem.
        var detail = string.Join("; ", resolved.Select((r, i) => $"{ordered[i].Host}: {r.Detail}"));
        return Failed(permanent: false, $"4.4.4 {name}: no MX host has an address ({detail})");
    }

    private async Task<MxResolution> ResolveImplicitMxAsync(string name, CancellationToken ct)
    {
        var (addresses, status, detail) = await AddressesAsync(name, ct);
        if (addresses.Count > 0) return new MxResolution([new MxTarget(name, 0, addresses)], null);
        return status == LookupStatus.NoSuchDomain
            ? Failed(permanent: true, $"5.1.2 {name}: domain does not exist (NXDOMAIN)")
            : Failed(permanent: false, $"4.4.4 {name}: no MX and no address records ({detail})");
    }

    /// <summary>"[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3): the address is the target, no DNS.</summary>
    private static MxResolution ResolveAddressLiteral(string literal)
    {
        if (literal.EndsWith(']'))
        {
            var inner = literal[1..^1];
            var v6 = inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase);
            var text = v6 ? inner[5..] : inner;
            // IPAddress.TryParse also takes "1" or "1.2" as IPv4: insist on the dotted quad.
            if (IPAddress.TryParse(text, out var address) &&
                (v6 ? address.AddressFamily == AddressFamily.InterNetworkV6
                     : address.AddressFamily == AddressFamily.InterNetwork && text.Count(c => c == '.') == 3))
            {
                return new MxResolution([new MxTarget(address.ToString(), 0, [address])], null);
            }
        }
        return Failed(permanent: true, $"5.1.2 {literal}: not a valid address literal");
    }

    private async Task<(IReadOnlyList<IPAddress> Addresses, LookupStatus Status, string Detail)> AddressesAsync(string host, CancellationToken ct)
    {
        var a = QueryAsync(host, QueryType.A, ct);
        var aaaa = QueryAsync(host, QueryType.AAAA, ct);
        var (v4, v6) = (await a, await aaaa);
        // IPv4 first: a sender without a working IPv6 route would otherwise spend a connect timeout per AAAA.
        var addresses = v4.Answers.ARecords().Select(r => r.Address)
            .Concat(v6.Answers.AaaaRecords().Select(r => r.Address))
            .Distinct().ToList();
        if (addresses.Count > 0) return (addresses, LookupStatus.Answered, "");
        if (v4.Status == LookupStatus.Failed) return ([], LookupStatus.Failed, v4.Detail);
        if (v6.Status == LookupStatus.Failed) return ([], LookupStatus.Failed, v6.Detail);
        return v4.Status == LookupStatus.NoSuchDomain
            ? ([], LookupStatus.NoSuchDomain, "no such host (NXDOMAIN)")
            : ([], LookupStatus.Answered, "no A or AAAA records");
    }

    private async Task<Lookup> QueryAsync(string name, QueryType type, CancellationToken ct)
    {
        try
        {
            var response = await _dns.QueryAsync(name, type, QueryClass.IN, ct);
            return response.Header.ResponseCode switch
            {
                DnsHeaderResponseCode.NoError => new Lookup(LookupStatus.Answered, response.Answers, ""),
                DnsHeaderResponseCode.NotExistentDomain => new Lookup(LookupStatus.NoSuchDomain, [], "NXDOMAIN"),
                var code => new Lookup(LookupStatus.Failed, [], $"{type} lookup of {name} failed: {code}"),
            };
        }
        catch (DnsResponseException e) // timeouts and unreachable servers still throw
        {
            return new Lookup(LookupStatus.Failed, [], $"{type} lookup of {name} failed: {e.Message}");
        }
    }

    private static MxResolution Failed(bool permanent, string reason) => new([], new MxFailure(permanent, reason));

    private enum LookupStatus { Answered, NoSuchDomain, Failed }

    private sealed record Lookup(LookupStatus Status, IReadOnlyCollection<DnsResourceRecord> Answers, string Detail);
}
