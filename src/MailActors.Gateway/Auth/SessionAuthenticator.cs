using System.Collections.Concurrent;
using MailActors.Cluster;
using MailActors.Core;

namespace MailActors.Gateway.Auth;

public sealed record SessionPrincipal(MailboxId Mailbox, string SessionHash, DateTimeOffset ExpiresAt);

/// <summary>
/// Checks session tokens against their mailbox and remembers good answers for a short while,
/// so an API call costs one mailbox round trip (its own), not two. Logout evicts here at once
/// and on other gateway nodes through <see cref="EventHub"/>'s revocation topic; a node that
/// missed that message still drops the session within <see cref="GatewayOptions.SessionCheckInterval"/>.
/// </summary>
public sealed class SessionAuthenticator(MailboxClient mailboxes, MailActorsOptions cluster, GatewayOptions options, TimeProvider clock)
{
    /// <summary>How long a good answer is trusted (and how often open WebSockets re-check).</summary>
    public TimeSpan CacheFor { get; } = options.SessionCheckInterval;
    private const int MaxCached = 100_000;

    private readonly ConcurrentDictionary<string, (SessionPrincipal Principal, long CheckedAt)> _cache = new(StringComparer.Ordinal);

    public ValueTask<SessionPrincipal?> ValidateAsync(string? token, CancellationToken ct) =>
        SessionTokens.TryParse(token, out var mailbox, out var hash) ? ValidateAsync(mailbox, hash, ct) : ValueTask.FromResult<SessionPrincipal?>(null);

    /// <summary>Is this session still alive? (Open WebSockets re-check with it.)</summary>
    public async ValueTask<SessionPrincipal?> ValidateAsync(MailboxId mailbox, string hash, CancellationToken ct)
    {
        // A token for a domain this system doesn't serve can't be valid: don't wake a mailbox for it.
        if (!cluster.IsLocalDomain(mailbox.Domain)) return null;
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
