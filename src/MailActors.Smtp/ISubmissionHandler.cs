using MailActors.Core;

namespace MailActors.Smtp;

/// <summary>
/// A message an authenticated user submitted (SMTP submission, or the HTTP API): stored as
/// <see cref="Blob"/> with Message-ID and Date already present, envelope checked against the user.
/// <see cref="BodyText"/> is its body for the search index (null: the mailbox reads the blob).
/// </summary>
public sealed record Submission(MailboxId User, string Sender, IReadOnlyList<string> Recipients, BlobId Blob, long Size, MessageMetadata Metadata,
    string? BodyText = null);

/// <summary>The SMTP reply for the end of DATA of a submission.</summary>
public sealed record SubmissionOutcome(int Code, string Reply)
{
    public bool Accepted => Code == 250;
}

/// <summary>
/// Takes responsibility for a submitted message: a copy in the sender's Sent, local recipients
/// delivered, remote ones queued durably. Accepting means nothing will be lost from here on.
/// </summary>
public interface ISubmissionHandler
{
    Task<SubmissionOutcome> SubmitAsync(Submission submission, CancellationToken ct);
}
