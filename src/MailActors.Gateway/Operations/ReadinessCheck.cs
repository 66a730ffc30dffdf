using Akka.Actor;
using MailActors.Cluster;
using MailActors.Storage.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MailActors.Gateway;

/// <summary>Ready = this node is an Up cluster member and its journal database answers.</summary>
internal sealed class ReadinessCheck(ActorSystem system, MailActorsOptions options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var status = Akka.Cluster.Cluster.Get(system).SelfMember.Status;
        if (status != Akka.Cluster.MemberStatus.Up)
            return HealthCheckResult.Unhealthy($"cluster member is {status}, not Up");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await JournalSetup.PingAsync(options.EffectiveJournal, timeout.Token);
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("journal unreachable: " + e.Message);
        }
        return HealthCheckResult.Healthy("cluster member Up, journal reachable");
    }
}
