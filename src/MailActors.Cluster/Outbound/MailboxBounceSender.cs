using MailActors.Core;
using MailActors.Core.Outbound;
using MailActors.Mime;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace MailActors.Cluster.Outbound;

/// <summary>
/// Puts the DSN for failed recipients into the (local) sender's Inbox. The delivery id is the
/// queue entry plus the failed recipients, so a bounce retried after a crash is delivered once.
/// Bounces are never bounced: a message with the null sender that fails is only logged.
/// </summary>
public sealed class MailboxBounceSender(MailboxClient mailboxes, IBlobStore blobs, MailActorsOptions options, ILogger<MailboxBounceSender> log) : IBounceSender
{
    public async Task SendAsync(OutboundMessage message, IReadOnlyList<RecipientAttempt> failed, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(message.Sender))
        {
            log.LogWarning("bounce {QueueId} to {Recipients} failed; a bounce is never bounced", message.QueueId, string.Join(", ", failed.Select(f => f.Recipient)));
            return;
        }
        if (!await mailboxes.ExistsAsync(message.Sender, ct))
        {
            log.LogWarning("{QueueId}: sender {Sender} has no mailbox here; nobody to tell about {Count} failed recipient(s)", message.QueueId, message.Sender, failed.Count);
            return;
        }

        HeaderList? headers = null;
        try
        {
            await using var original = await blobs.OpenReadAsync(message.Blob, ct);
            headers = (await MimeMessage.LoadAsync(original, ct)).Headers;
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            log.LogWarning(e, "{QueueId}: original message unreadable; the bounce goes without its headers", message.QueueId);
        }

        var reportingMta = options.LocalDomains.FirstOrDefault() ?? "localhost";
        using var dsn = DeliveryStatusNotification.Build(message, failed, headers, reportingMta, DateTimeOffset.UtcNow);
        using var buffer = new MemoryStream();
        await dsn.WriteToAsync(buffer, ct);
        buffer.Position = 0;
        var stored = await blobs.PutAsync(buffer, ct);
        var metadata = MessageParser.FromMime(dsn, stored.Id, stored.Size);
        var deliveryId = $"dsn:{message.QueueId}:{string.Join(',', failed.Select(f => f.Recipient).Order(StringComparer.OrdinalIgnoreCase))}";
        if (deliveryId.Length > DeliverMessage.MaxDeliveryIdLength)
            deliveryId = "dsn:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(deliveryId)));
        await mailboxes.DeliverAsync(message.Sender, deliveryId, metadata, bodyText: MessageParser.BodyText(dsn), ct: ct);
        log.LogInformation("{QueueId}: bounce for {Recipients} delivered to {Sender}", message.QueueId, string.Join(", ", failed.Select(f => f.Recipient)), message.Sender);
    }
}
