using System.Threading.Channels;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Mime;
using Microsoft.Extensions.Logging;

namespace MailActors.Smtp;

/// <summary>A message whose body is stored, waiting to be parsed, scanned and delivered.</summary>
internal sealed record IngressJob(string Sender, IReadOnlyList<string> Recipients, BlobId Blob, long Size, string ContentHash, string SpoolPath)
{
    public TaskCompletionSource<IngressOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>How delivery went, as the SMTP reply for the end of DATA.</summary>
public sealed record IngressOutcome(int Code, string Reply)
{
    public bool Accepted => Code == 250;
}

/// <summary>The scan stage: anti-spam and anti-virus verdicts plug in here (a later issue). Today it passes everything.</summary>
public interface IMessageScanner
{
    ValueTask<MessageMetadata> ScanAsync(MessageMetadata metadata, string spoolPath, CancellationToken ct);
}

public sealed class PassThroughScanner : IMessageScanner
{
    public ValueTask<MessageMetadata> ScanAsync(MessageMetadata metadata, string spoolPath, CancellationToken ct) => ValueTask.FromResult(metadata);
}

/// <summary>
/// After end of data: an Akka.Streams graph with bounded parallelism parses the message with
/// MimeKit, runs the scan stage and delivers to every local recipient's mailbox. The job's
/// outcome completes only when every recipient's event is durable (250) or with the reason
/// it is not (4xx/5xx). A bounded channel in front back-pressures SMTP sessions when the
/// pipeline is saturated.
/// </summary>
internal sealed class IngressPipeline : IAsyncDisposable
{
    private readonly Channel<IngressJob> _jobs;
    private readonly Task _completion;
    private readonly MailboxClient _mailboxes;
    private readonly IMessageScanner _scanner;
    private readonly ILogger _log;

    public IngressPipeline(ActorSystem system, MailboxClient mailboxes, IMessageScanner scanner, ILogger log, int parallelism)
    {
        _mailboxes = mailboxes;
        _scanner = scanner;
        _log = log;
        _jobs = Channel.CreateBounded<IngressJob>(new BoundedChannelOptions(parallelism * 4) { SingleReader = true });
        _completion = ChannelSource.FromReader(_jobs.Reader)
            .SelectAsyncUnordered(parallelism, ParseAsync) // unordered: a big message doesn't hold up small ones
            .SelectAsyncUnordered(parallelism, ScanAsync)
            .SelectAsyncUnordered(parallelism, DeliverAsync)
            .RunWith(Sink.Ignore<IngressJob>(), system.Materializer());
    }

    /// <summary>Queues a message (waiting while the pipeline is full) and returns its outcome.</summary>
    public async Task<IngressOutcome> SubmitAsync(IngressJob job, CancellationToken ct)
    {
        if (_completion.IsCompleted) return Unavailable(job, "the ingress pipeline has stopped");
        await _jobs.Writer.WriteAsync(job, ct);
        // A job is never left waiting forever: if the pipeline dies, or a mailbox never answers, the sender gets a 451.
        var finished = await Task.WhenAny(job.Done.Task, _completion, Task.Delay(SubmitTimeout, ct));
        return finished == job.Done.Task ? await job.Done.Task : Unavailable(job, finished == _completion ? "the ingress pipeline has stopped" : "delivery timed out");
    }

    private static readonly TimeSpan SubmitTimeout = TimeSpan.FromMinutes(5);

    private IngressOutcome Unavailable(IngressJob job, string why)
    {
        _log.LogError("message {Blob} not delivered: {Reason}", job.Blob, why);
        var outcome = new IngressOutcome(451, "451 4.3.0 Mail system temporarily unavailable, try again later");
        Finish(job, outcome);
        return outcome;
    }

    /// <param name="BodyText">For the search index, taken from the same parse as the metadata.</param>
    private sealed record Parsed(IngressJob Job, MessageMetadata? Metadata, string? BodyText = null);

    private async Task<Parsed> ParseAsync(IngressJob job)
    {
        try
        {
            var (metadata, bodyText) = await MessageParser.ParseWithBodyTextAsync(job.SpoolPath, job.Blob, job.Size);
            return new Parsed(job, metadata, bodyText);
        }
        catch (Exception e)
        {
            _log.LogError(e, "parsing {Blob} failed", job.Blob);
            Finish(job, new IngressOutcome(451, "451 4.3.0 Message could not be processed, try again later"));
            return new Parsed(job, null);
        }
    }

    private async Task<Parsed> ScanAsync(Parsed parsed)
    {
        if (parsed.Metadata is null) return parsed;
        try
        {
            return parsed with { Metadata = await _scanner.ScanAsync(parsed.Metadata, parsed.Job.SpoolPath, CancellationToken.None) };
        }
        catch (Exception e)
        {
            _log.LogError(e, "scanning {Blob} failed", parsed.Job.Blob);
            Finish(parsed.Job, new IngressOutcome(451, "451 4.3.0 Message could not be scanned, try again later"));
            return parsed with { Metadata = null };
        }
    }

    private async Task<IngressJob> DeliverAsync(Parsed parsed)
    {
        var job = parsed.Job;
        if (parsed.Metadata is not { } metadata) return job;
        // Same original content from the same sender = same delivery: retries after a lost reply are absorbed.
        var deliveryId = $"smtp:{job.ContentHash}:{job.Sender}";
        var results = await Task.WhenAll(job.Recipients.Select(async rcpt =>
        {
            try
            {
                await _mailboxes.DeliverAsync(rcpt, deliveryId, metadata, bodyText: parsed.BodyText);
                return (rcpt, Error: (MailboxErrorCode?)null);
            }
            catch (MailboxException e)
            {
                _log.LogWarning("delivery of {Blob} to {Recipient} failed: {Code} {Message}", job.Blob, rcpt, e.Code, e.Message);
                return (rcpt, Error: e.Code);
            }
            catch (Exception e)
            {
                _log.LogError(e, "delivery of {Blob} to {Recipient} failed", job.Blob, rcpt);
                return (rcpt, Error: MailboxErrorCode.Unavailable);
            }
        }));
        Finish(job, Outcome(results.Select(r => r.Error).ToList(), job));
        return job;
    }

    private static IngressOutcome Outcome(List<MailboxErrorCode?> errors, IngressJob job)
    {
        var failed = errors.Where(e => e is not null).Select(e => e!.Value).ToList();
        if (failed.Count == 0) return new IngressOutcome(250, $"250 2.0.0 Ok: delivered as {job.Blob.ToString()[..16]}");
        var allFailedPermanently = failed.Count == errors.Count && failed.All(e => e is MailboxErrorCode.QuotaExceeded or MailboxErrorCode.NoSuchMailbox);
        if (allFailedPermanently)
        {
            return failed.All(e => e == MailboxErrorCode.QuotaExceeded)
                ? new IngressOutcome(552, "552 5.2.2 Mailbox full")
                : new IngressOutcome(550, "550 5.1.1 Mailbox unavailable");
        }
        // Some recipients may have their copy; a retry delivers the rest and the delivery id absorbs the repeats.
        return failed.All(e => e == MailboxErrorCode.QuotaExceeded)
            ? new IngressOutcome(452, "452 4.2.2 Mailbox full for some recipients, try again later")
            : new IngressOutcome(451, "451 4.3.0 Mail storage temporarily unavailable, try again later");
    }

    private static void Finish(IngressJob job, IngressOutcome outcome)
    {
        IncomingMessage.TryDeleteSpool(job.SpoolPath);
        job.Done.TrySetResult(outcome);
    }

    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        await _completion.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
    }
}
