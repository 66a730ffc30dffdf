using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailActors.Core;

namespace MailActors.Smtp;

/// <summary>
/// Slows down password guessing on the submission ports: failed AUTH attempts are counted per
/// client address (IPv6 per /64) and per account in a fixed window that starts with the first
/// failure. Once either count reaches its limit, further attempts are refused before the
/// password is even checked, so a right guess can't be told from a wrong one. Counts are per
/// node and live in memory: a restart forgets them, which is accepted.
/// </summary>
internal sealed class SubmissionAuthThrottle(SubmissionOptions options, TimeProvider time)
{
    private const int PruneAbove = 10_000;

    private sealed class Window
    {
        public DateTimeOffset Start;
        public int Count;
    }

    private readonly ConcurrentDictionary<string, Window> _failures = new();

    public SubmissionAuthThrottle(SubmissionOptions options) : this(options, TimeProvider.System)
    {
    }

    /// <summary>Whether the client address, or the account when given, has used up its failed attempts.</summary>
    public bool IsBlocked(IPAddress client, string? account) =>
        Count(AddressKey(client)) >= options.MaxAuthFailuresPerAddress
        || (account is not null && Count(AccountKey(account)) >= options.MaxAuthFailuresPerAccount);

    public void RecordFailure(IPAddress client, string account)
    {
        if (_failures.Count > PruneAbove) Prune();
        Add(AddressKey(client));
        Add(AccountKey(account));
    }

    private int Count(string key)
    {
        if (!_failures.TryGetValue(key, out var window)) return 0;
        lock (window) return Expired(window) ? 0 : window.Count;
    }

    private void Add(string key)
    {
        var window = _failures.GetOrAdd(key, _ => new Window { Start = time.GetUtcNow() });
        lock (window)
        {
            if (Expired(window)) (window.Start, window.Count) = (time.GetUtcNow(), 0);
            window.Count++;
        }
    }

    private bool Expired(Window window) => time.GetUtcNow() - window.Start >= options.AuthFailureWindow;

    /// <summary>Bounds memory under a spray of addresses and account names.</summary>
    private void Prune()
    {
        foreach (var (key, window) in _failures)
        {
            bool expired;
            lock (window) expired = Expired(window);
            if (expired) _failures.TryRemove(new KeyValuePair<string, Window>(key, window));
        }
    }

    /// <summary>The mailbox's own spelling, so " Alice@X " is not a fresh count.</summary>
    private static string AccountKey(string account) =>
        "account:" + (MailboxId.TryParse(account, out var mailbox, out _) ? mailbox.Value : account.Trim().ToLowerInvariant());

    internal static string AddressKey(IPAddress address) => "ip:" + Net.ClientAddress.RateLimitKey(address);
}

/// <summary>Decoding of the SASL responses the submission server accepts: PLAIN (RFC 4616) and LOGIN.</summary>
internal static class Sasl
{
    /// <summary>A base64 response ("=" is the empty one, RFC 4954 section 4) as UTF-8 text.</summary>
    public static bool TryDecode(string response, out string text)
    {
        text = "";
        if (response == "=") return true;
        var bytes = new byte[(response.Length + 3) / 4 * 3];
        if (!Convert.TryFromBase64String(response, bytes, out var length)) return false;
        text = Encoding.UTF8.GetString(bytes, 0, length);
        return true;
    }

    /// <summary>PLAIN: authzid NUL authcid NUL password.</summary>
    public static bool TryParsePlain(string decoded, out string authorizationId, out string user, out string password)
    {
        var parts = decoded.Split('\0');
        (authorizationId, user, password) = parts.Length == 3 ? (parts[0], parts[1], parts[2]) : ("", "", "");
        return parts.Length == 3 && user.Length > 0;
    }
}
