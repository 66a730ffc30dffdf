using System.Net;

namespace MailActors.Smtp.Outbound;

/// <summary>One mail exchanger to try: its name (ASCII, no trailing dot), MX preference and addresses (IPv4 first).</summary>
public sealed record MxTarget(string Host, int Preference, IReadOnlyList<IPAddress> Addresses);

/// <summary>Where mail for a domain goes: <see cref="Targets"/> in try order, or why there is nowhere to send it.</summary>
public sealed record MxResolution(IReadOnlyList<MxTarget> Targets, MxFailure? Failure)
{
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Why a domain has no usable target. <see cref="Permanent"/>: bounce now (NXDOMAIN, null MX, malformed name);
/// otherwise keep the message queued and retry (timeouts, SERVFAIL, MX hosts without addresses).
/// </summary>
public sealed record MxFailure(bool Permanent, string Reason);

/// <summary>How <see cref="MxResolver"/> talks to DNS.</summary>
public sealed record DnsOptions
{
    /// <summary>Name servers to ask; empty = the system's resolvers (/etc/resolv.conf).</summary>
    public IReadOnlyList<IPEndPoint> Servers { get; init; } = [];
    /// <summary>Per query and server attempt.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    public int Retries { get; init; } = 2;
    /// <summary>Cache answers for their TTL.</summary>
    public bool UseCache { get; init; } = true;
}
