using System.Threading.Channels;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using MailActors.Cluster.Outbound;
using MailActors.Core.Outbound;

namespace MailActors.Smtp.Outbound;

/// <summary>
/// The node's egress as an Akka.Streams graph: every queue's attempts flow through one bounded
/// channel into <c>SelectAsyncUnordered(parallelism)</c> stages (MX lookup + SMTP), so the node
/// never has more deliveries in flight than it can carry, whatever the number of destination
/// domains; when saturated, queue actors' attempts wait (back-pressure) instead of piling up
/// connections. Per-domain limits stay in the queue actors, per-host ones in the connection pool.
/// </summary>
public sealed class EgressStream : IOutboundTransport, IAsyncDisposable
{
    // A bounded channel rather than Source.Queue: many queue actors offer at once, and a
    // channel's WriteAsync back-pressures every one of them (Source.Queue allows one pending offer).
    private readonly Channel<Job> _jobs;
    private readonly Task _completion;

    public EgressStream(ActorSystem system, EgressTransport transport, int parallelism)
    {
        _jobs = Channel.CreateBounded<Job>(new BoundedChannelOptions(parallelism * 4) { SingleReader = true });
        _completion = ChannelSource.FromReader(_jobs.Reader)
            .SelectAsyncUnordered(parallelism, async job =>
            {
                try
                {
                    job.Done.TrySetResult(await transport.DeliverAsync(job.Domain, job.Message, job.Recipients, job.Cancel));
                }
                catch (Exception e)
                {
                    job.Done.TrySetException(e);
                }
                return job;
            })
            .RunWith(Sink.Ignore<Job>(), system.Materializer());
    }

    public async Task<IReadOnlyList<RecipientAttempt>> DeliverAsync(string domain, OutboundMessage message, IReadOnlyList<string> recipients, CancellationToken ct)
    {
        var job = new Job(domain, message, recipients, ct);
        try
        {
            await _jobs.Writer.WriteAsync(job, ct);
        }
        catch (ChannelClosedException)
        {
            return recipients.Select(r => new RecipientAttempt(r, AttemptOutcome.TemporaryFailure, "4.3.0 egress is shutting down")).ToList();
        }
        return await job.Done.Task.WaitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        await _completion.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private sealed record Job(string Domain, OutboundMessage Message, IReadOnlyList<string> Recipients, CancellationToken Cancel)
    {
        public TaskCompletionSource<IReadOnlyList<RecipientAttempt>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
