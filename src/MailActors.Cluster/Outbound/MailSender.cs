using MailActors.Core;
using MailActors.Mime.Dkim;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.Logging;

namespace MailActors.Cluster.Outbound;

/// <summary>A stored message ready to go: its blob, what a mailbox keeps about it, and its body text for search (null: the mailbox reads it).</summary>
public sealed record OutgoingCopy(BlobId Blob, long Size, MessageMetadata Metadata, string? BodyText = null);

public sealed record LocalFailure(string Address, string Reason);

/// <param name="SentMessageId">The copy in the sender's Sent folder.</param>
public sealed record SendResult(long SentMessageId, IReadOnlyList<string> Delivered, IReadOnlyList<LocalFailure> Failed, IReadOnlyList<string> Queued);

/// <summary>
/// The one sending path for SMTP submission and the HTTP API (DESIGN.md "Send"): a copy in the
/// sender's Sent, local recipients delivered straight to their mailboxes, remote ones DKIM-signed
/// once and queued durably per destination domain. When it returns, nothing can be lost.
/// </summary>
public sealed class MailSender(MailboxClient mailboxes, OutboundClient outbound, IBlobStore blobs, MailActorsOptions options,
    DkimKeyStore dkim, TimeProvider clock, ILogger<MailSender> log)
{
    public bool IsLocal(string address)
    {
        var at = address.LastIndexOf('@');
        return at > 0 && options.IsLocalDomain(address[(at + 1)..]);
    }

    /// <summary>Local recipients without a mailbox (checked before anything is stored or sent).</summary>
    public async Task<IReadOnlyList<string>> UnknownLocalRecipientsAsync(IEnumerable<string> recipients, CancellationToken ct)
    {
        var unknown = new List<string>();
        foreach (var r in recipients.Where(IsLocal))
            if (!await mailboxes.ExistsAsync(r, ct)) unknown.Add(r);
        return unknown;
    }

    /// <param name="deliveryKey">Stable per message (e.g. from an Idempotency-Key): a retried send delivers and queues once.</param>
    public async Task<SendResult> SendAsync(MailboxId user, string envelopeSender, IReadOnlyList<string> recipients,
        OutgoingCopy sent, OutgoingCopy delivered, string deliveryKey, CancellationToken ct)
    {
        // Fixed length whatever the caller's key: delivery ids have at most 200 characters.
        deliveryKey = "send:" + QueueId(user.Value + "\n" + deliveryKey);
        var sentReply = await mailboxes.DeliverAsync(user.Value, deliveryKey + ":sent", sent.Metadata, SystemFolders.Sent, MessageFlags.Seen, sent.BodyText, ct);

        var deliveredLocal = new List<string>();
        var failed = new List<LocalFailure>();
        foreach (var r in recipients.Where(IsLocal))
        {
            try
            {
                await mailboxes.DeliverAsync(r, deliveryKey, delivered.Metadata, bodyText: delivered.BodyText, ct: ct);
                deliveredLocal.Add(r);
            }
            catch (MailboxException e) when (e.Code is MailboxErrorCode.QuotaExceeded or MailboxErrorCode.NoSuchMailbox)
            {
                failed.Add(new LocalFailure(r, e.Message));
            }
        }

        var remote = recipients.Where(r => !IsLocal(r)).ToList();
        if (remote.Count > 0)
        {
            var signed = await SignAsync(user, delivered, ct);
            // The queue id derives from the delivery key, so a retried send lands on the same entries.
            await outbound.EnqueueAsync(QueueId(deliveryKey), envelopeSender, remote, signed.Blob, signed.Size, clock.GetUtcNow(), ct);
        }
        log.LogInformation("{User} sent {Blob}: {Local} delivered locally, {Failed} failed, {Remote} queued",
            user, delivered.Blob, deliveredLocal.Count, failed.Count, remote.Count);
        return new SendResult(sentReply.MessageId, deliveredLocal, failed, remote);
    }

    /// <summary>DKIM-signs the copy for remote recipients with the sender domain's key (generated at first use).</summary>
    private async Task<OutgoingCopy> SignAsync(MailboxId user, OutgoingCopy copy, CancellationToken ct)
    {
        var key = dkim.GetOrCreate(user.Domain);
        var stored = await blobs.PutAsync(async (signed, token) =>
        {
            await using var original = await blobs.OpenReadAsync(copy.Blob, token);
            await DkimSigning.SignAsync(original, signed, key, clock.GetUtcNow(), token);
        }, ct);
        return copy with { Blob = stored.Id, Size = stored.Size };
    }

    private static string QueueId(string deliveryKey) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(deliveryKey)))[..32].ToLowerInvariant();
}
