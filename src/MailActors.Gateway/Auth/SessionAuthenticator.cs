using System.Collections.Concurrent;
using MailActors.Cluster;
using MailActors.Core;

namespace MailActors.Gateway.Auth;

public sealed record SessionPrincipal(MailboxId Mailbox, string SessionHash, DateTimeOffset ExpiresAt);

/// <summary>
/// Checks session tokens against their mailbox and remembers good answers for a short while,
/// so an API call costs one mailbox round trip (its own), not two. Logout evicts here at once
/// and on other gateway nodes through <see cref="EventHub"/>'s revocation topic; a node that
/// missed that message still drops the session within <see cref="CacheFor"/>.
/// </summary>
public sealed class SessionAuthenticator(MailboxClient mailboxes, TimeProvider clock)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private const int MaxCached = 100_000;

    private readonly ConcurrentDictionary<string, (SessionPrincipal Principal, long CheckedAt)> _cache = new(StringComparer.Ordinal);

    public async ValueTask<SessionPrincipal?> ValidateAsync(string? token, CancellationToken ct)
    {
        if (!SessionTokens.TryParse(token, out var mailbox, out var hash)) return null;
        var now = clock.GetUtcNow();
        var ticks = clock.GetTimestamp();
        if (_cache.TryGetValue(hash, out var cached) && cached.Principal.Mailbox == mailbox
            && clock.GetElapsedTime(cached.CheckedAt, ticks) < CacheFor)
        {
            return cached.Principal.ExpiresAt > now ? cached.Principal : null;
        }

        var reply = await mailboxes.SendAsync(new CheckSession(mailbox, hash), ct);
        if (reply is MailboxError { Code: MailboxErrorCode.Unavailable } unavailable)
            throw new MailboxException(unavailable.Code, unavailable.Message);
        if (reply is not SessionInfo info || info.ExpiresAt <= now)
        {
            _cache.TryRemove(hash, out _);
            return null;
        }
        var principal = new SessionPrincipal(mailbox, hash, info.ExpiresAt);
        if (_cache.Count >= MaxCached) Trim(ticks);
        _cache[hash] = (principal, ticks);
        return principal;
    }

    public void Evict(string sessionHash) => _cache.TryRemove(sessionHash, out _);

    private void Trim(long now)
    {
        foreach (var (key, entry) in _cache)
            if (clock.GetElapsedTime(entry.CheckedAt, now) >= CacheFor) _cache.TryRemove(key, out _);
        if (_cache.Count >= MaxCached) _cache.Clear();
    }
}
