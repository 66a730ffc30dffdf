using MailActors.Cluster.Outbound;
using MailActors.Core.Outbound;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;

namespace MailActors.Smtp.Outbound;

/// <summary>The outbound queue's transport: MX lookup (or the smart host), then SMTP delivery of the stored blob.</summary>
public sealed class EgressTransport(MxResolver resolver, SmtpDeliverer deliverer, IBlobStore blobs, EgressOptions options) : IOutboundTransport
{
    public async Task<IReadOnlyList<RecipientAttempt>> DeliverAsync(string domain, OutboundMessage message, IReadOnlyList<string> recipients, CancellationToken ct)
    {
        IReadOnlyList<MxTarget> targets = [];
        if (options.SmartHost is null)
        {
            var resolution = await resolver.ResolveAsync(domain, ct);
            if (resolution.Failure is { } failure)
            {
                var outcome = failure.Permanent ? AttemptOutcome.PermanentFailure : AttemptOutcome.TemporaryFailure;
                return recipients.Select(r => new RecipientAttempt(r, outcome, failure.Reason)).ToList();
            }
            targets = resolution.Targets;
        }

        await using var content = await blobs.OpenReadAsync(message.Blob, ct);
        var attempt = await deliverer.DeliverAsync(targets, new OutboundEnvelope(message.Sender, recipients), () => content, ct);
        return attempt.Results.Select(r => new RecipientAttempt(r.Recipient, r.Outcome switch
        {
            RecipientOutcome.Delivered => AttemptOutcome.Delivered,
            RecipientOutcome.PermanentFailure => AttemptOutcome.PermanentFailure,
            _ => AttemptOutcome.TemporaryFailure,
        }, attempt.Host is null ? r.Reply : $"{attempt.Host} said: {r.Reply}")).ToList();
    }
}

public static class EgressHosting
{
    /// <summary>Real outbound delivery for the queue: DnsClient MX lookups and MailKit SMTP (replaces the "not configured" transport).</summary>
    public static IServiceCollection AddSmtpEgress(this IServiceCollection services, EgressOptions egress, DnsOptions dns)
    {
        services.AddSingleton(egress);
        services.AddSingleton(new MxResolver(dns));
        services.AddSingleton(_ => new SmtpDeliverer(egress));
        services.AddSingleton<EgressTransport>();
        services.AddSingleton<IOutboundTransport>(sp => new EgressStream(
            sp.GetRequiredService<Akka.Actor.ActorSystem>(), sp.GetRequiredService<EgressTransport>(), egress.MaxParallelDeliveries));
        return services;
    }
}
