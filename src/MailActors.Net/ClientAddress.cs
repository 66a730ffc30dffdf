using System.Net;
using System.Net.Sockets;

namespace MailActors.Net;

public static class ClientAddress
{
    /// <summary>
    /// The key rate limits count a client under: IPv4 per address; IPv6 per /64, the block one
    /// subscriber usually holds (otherwise one client has 2^64 fresh budgets).
    /// </summary>
    public static string RateLimitKey(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes) + "/64";
    }
}
