using MailActors.Cluster;
using MailActors.Cluster.Outbound;
using Microsoft.Extensions.Logging;

namespace MailActors.Smtp;

/// <summary>Submissions go down the same path as the HTTP API's sends (<see cref="MailSender"/>).</summary>
public sealed class MailSenderSubmissionHandler(MailSender mail, IBounceSender bounces, ILogger<MailSenderSubmissionHandler> log) : ISubmissionHandler
{
    public async Task<SubmissionOutcome> SubmitAsync(Submission submission, CancellationToken ct)
    {
        var unknown = await mail.UnknownLocalRecipientsAsync(submission.Recipients, ct);
        if (unknown.Count > 0)
            return new SubmissionOutcome(550, $"550 5.1.1 Recipient address rejected: no such mailbox here: {string.Join(", ", unknown)}");
        try
        {
            var copy = new OutgoingCopy(submission.Blob, submission.Size, submission.Metadata, submission.BodyText);
            // Per transaction: the stored bytes carry this session's Received header, so a client
            // retrying after a lost reply sends again (at least once, never lost).
            var key = $"submission:{submission.Blob}";
            var result = await mail.SendAsync(submission.User, submission.Sender, submission.Recipients, copy, copy, key, ct);
            if (result.Failed.Count > 0 && result.Failed.Count == submission.Recipients.Count)
                return new SubmissionOutcome(552, "552 5.2.2 Mailbox full: " + string.Join(", ", result.Failed.Select(f => f.Address)));
            if (result.Failed.Count > 0)
            {
                // Some local recipients couldn't take it (full): the sender hears it as a bounce, as for remote ones.
                var now = DateTimeOffset.UtcNow;
                var failed = result.Failed.Select(f => new Core.Outbound.RecipientAttempt(f.Address, Core.Outbound.AttemptOutcome.PermanentFailure, "552 5.2.2 " + f.Reason)).ToList();
                await bounces.SendAsync(new Core.Outbound.OutboundMessage(key, submission.Sender, failed.Select(f => f.Recipient).ToList(),
                    submission.Blob, submission.Size, now, now), failed, ct);
            }
            return new SubmissionOutcome(250, $"250 2.0.0 Ok: {result.Delivered.Count} delivered, {result.Queued.Count} queued");
        }
        catch (MailboxException e)
        {
            log.LogWarning("submission from {User} failed: {Code} {Message}", submission.User, e.Code, e.Message);
            return new SubmissionOutcome(451, "451 4.3.0 Mail storage temporarily unavailable, try again later");
        }
    }
}
