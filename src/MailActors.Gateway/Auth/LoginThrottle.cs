using System.Net;
using System.Threading.RateLimiting;
using MailActors.Core;

namespace MailActors.Gateway.Auth;

/// <summary>
/// Slows down password guessing: login attempts are limited per client address and per
/// account (token buckets, this node only). Over the limit the answer is 429 without even
/// checking the password.
/// </summary>
public sealed class LoginThrottle(GatewayOptions options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _perIp = PartitionedRateLimiter.Create<string, string>(ip =>
        RateLimitPartition.GetTokenBucketLimiter(ip, _ => Bucket(options.LoginBurstPerIp, options.LoginRefillPerIp)));

    private readonly PartitionedRateLimiter<string> _signups = PartitionedRateLimiter.Create<string, string>(ip =>
        RateLimitPartition.GetTokenBucketLimiter(ip, _ => Bucket(options.SignupBurstPerIp, options.SignupRefillPerIp)));

    private readonly PartitionedRateLimiter<string> _perAccount = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetTokenBucketLimiter(address, _ => Bucket(options.LoginBurstPerAccount, options.LoginRefillPerAccount)));

    /// <summary>Null when the attempt may go ahead; otherwise how long to wait.</summary>
    public TimeSpan? TryAcquire(IPAddress? client, string address)
    {
        using var ip = _perIp.AttemptAcquire(Net.ClientAddress.RateLimitKey(client));
        if (!ip.IsAcquired) return RetryAfter(ip);
        // The mailbox's own spelling, so " Alice@X " is not a fresh bucket.
        var key = MailboxId.TryParse(address, out var mailbox, out _) ? mailbox.Value : address.Trim().ToLowerInvariant();
        using var account = _perAccount.AttemptAcquire(key);
        return account.IsAcquired ? null : RetryAfter(account);
    }

    /// <summary>Sign-ups cost a password hash and a persistent mailbox: limited per client address.</summary>
    public TimeSpan? TryAcquireSignup(IPAddress? client)
    {
        using var lease = _signups.AttemptAcquire(Net.ClientAddress.RateLimitKey(client));
        return lease.IsAcquired ? null : RetryAfter(lease);
    }


    private static TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(30);

    private static TokenBucketRateLimiterOptions Bucket(int burst, TimeSpan refill) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = refill,
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    public void Dispose()
    {
        _perIp.Dispose();
        _signups.Dispose();
        _perAccount.Dispose();
    }
}
