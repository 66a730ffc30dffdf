using System.Threading.RateLimiting;

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

    private readonly PartitionedRateLimiter<string> _perAccount = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetTokenBucketLimiter(address, _ => Bucket(options.LoginBurstPerAccount, options.LoginRefillPerAccount)));

    /// <summary>Null when the attempt may go ahead; otherwise how long to wait.</summary>
    public TimeSpan? TryAcquire(string clientIp, string address)
    {
        using var ip = _perIp.AttemptAcquire(clientIp);
        if (!ip.IsAcquired) return RetryAfter(ip);
        using var account = _perAccount.AttemptAcquire(address.ToLowerInvariant());
        return account.IsAcquired ? null : RetryAfter(account);
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
        _perAccount.Dispose();
    }
}
