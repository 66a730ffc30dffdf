using MailActors.Cluster;
using MailActors.Core;
using MailActors.Gateway.Auth;
using MailActors.Mime;
using MailActors.Storage.Blobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace MailActors.Gateway.Api;

/// <summary>
/// Reading and organizing messages. The mailbox actor authorizes every id (a message id only
/// means something inside its own mailbox, so another user's id is simply not found); bodies
/// and attachments are then read from the blob store here, at the edge.
/// </summary>
public static class MessageEndpoints
{
    public const int MaxBatch = 1000;

    public static void Map(RouteGroupBuilder v1)
    {
        var messages = v1.MapGroup("/messages").WithTags("Messages").RequireAuthorization();
        messages.MapGet("/{id:long}", Get)
            .WithSummary("Headers, text, sanitized HTML (remote images blocked unless images=remote), attachments and flags");
        messages.MapGet("/{id:long}/raw", Raw).WithSummary("The message exactly as received (message/rfc822)");
        messages.MapGet("/{id:long}/attachments/{part}", Attachment).WithSummary("One attachment, decoded");
        messages.MapPatch("/{id:long}", Update).WithSummary("Mark read/unread, flag/unflag, move to a folder");
        messages.MapDelete("/{id:long}", Delete).WithSummary("Move to Trash; a message already in Trash is deleted for good");
        messages.MapPost("/batch", Batch).WithSummary($"The same update or delete for up to {MaxBatch} messages");
    }

    private static async Task<IResult> Get(long id, HttpContext http, MailboxClient mailboxes, MessageRenderer renderer,
        GatewayMetrics metrics, CancellationToken ct, string? images = null)
    {
        var message = await mailboxes.GetMessageAsync(http.User.Address(), id, ct);
        var remote = string.Equals(images, "remote", StringComparison.OrdinalIgnoreCase);
        var urlBase = $"/v1/messages/{id}/attachments/";
        var rendered = await renderer.RenderAsync(message.Metadata.Blob, part => urlBase + Uri.EscapeDataString(part),
            cacheKey: $"{http.User.Address()}/{id}/{message.Metadata.Blob}", remote, ct);
        metrics.MessagesOpened.Add(1);
        return TypedResults.Ok(new MessageDto(
            MessageSummaryDto.Of(message),
            rendered.Headers.Select(h => new HeaderDto(h.Name, h.Value)).ToList(),
            rendered.Text,
            rendered.Html,
            rendered.RemoteContentBlocked,
            rendered.Attachments.Select(a => new AttachmentDto(a.PartId, a.FileName, a.ContentType, a.Size, a.Inline, urlBase + Uri.EscapeDataString(a.PartId))).ToList()));
    }

    private static async Task<IResult> Raw(long id, HttpContext http, MailboxClient mailboxes, IBlobStore blobs, CancellationToken ct)
    {
        var message = await mailboxes.GetMessageAsync(http.User.Address(), id, ct);
        var stream = await blobs.OpenReadAsync(message.Metadata.Blob, ct);
        return TypedResults.Stream(stream, "message/rfc822", fileDownloadName: $"message-{id}.eml");
    }

    private static async Task<IResult> Attachment(long id, string part, HttpContext http, MailboxClient mailboxes, MessageRenderer renderer, CancellationToken ct)
    {
        var message = await mailboxes.GetMessageAsync(http.User.Address(), id, ct);
        var attachment = await renderer.OpenAttachmentAsync(message.Metadata.Blob, part, ct);
        if (attachment is null) return Problems.NotFound("attachment");
        // Never let a browser render mail content as a page of ours: always a download, never sniffed.
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.ContentSecurityPolicy = "sandbox; default-src 'none'";
        var disposition = new ContentDispositionHeaderValue("attachment");
        disposition.SetHttpFileName(attachment.FileName);
        http.Response.Headers.ContentDisposition = disposition.ToString();
        return TypedResults.Stream(attachment.Content, SafeContentType(attachment.ContentType));
    }

    private static async Task<IResult> Update(long id, UpdateMessageRequest body, HttpContext http, MailboxClient mailboxes, CancellationToken ct)
    {
        var address = http.User.Address();
        var ids = new[] { id };
        var (add, remove) = Flags(body.Read, body.Flagged);
        // Move first: an unknown folder or message fails it before anything has changed.
        if (!string.IsNullOrEmpty(body.FolderId))
        {
            var moved = await mailboxes.MoveAsync(address, ids, body.FolderId, ct);
            if (moved.NotFound.Count > 0) return Problems.NotFound("message");
        }
        if (add != MessageFlags.None || remove != MessageFlags.None)
        {
            var updated = await mailboxes.SetFlagsAsync(address, ids, add, remove, ct);
            if (updated.NotFound.Count > 0) return Problems.NotFound("message");
        }
        return TypedResults.Ok(MessageSummaryDto.Of(await mailboxes.GetMessageAsync(address, id, ct)));
    }

    private static async Task<IResult> Delete(long id, HttpContext http, MailboxClient mailboxes, CancellationToken ct)
    {
        var result = await mailboxes.DeleteAsync(http.User.Address(), [id], ct);
        return result.NotFound.Count > 0 ? Problems.NotFound("message") : TypedResults.NoContent();
    }

    private static async Task<IResult> Batch(BatchRequest body, HttpContext http, MailboxClient mailboxes, CancellationToken ct)
    {
        if (body.Ids is null || body.Ids.Count == 0) return Problems.Invalid("ids must list at least one message id");
        if (body.Ids.Count > MaxBatch) return Problems.Invalid($"at most {MaxBatch} ids per batch");
        var address = http.User.Address();
        var (add, remove) = Flags(body.Read, body.Flagged);
        var actions = (add | remove) != MessageFlags.None ? 1 : 0;
        actions += string.IsNullOrEmpty(body.FolderId) ? 0 : 1;
        actions += body.Delete == true ? 1 : 0;
        if (actions == 0) return Problems.Invalid("say what to do: read, flagged, folderId or delete");
        if (body.Delete == true && actions > 1) return Problems.Invalid("delete can't be combined with other changes");

        // Move first (an unknown folder fails it before anything changed); every step sees the same ids.
        MessagesUpdatedReply? last = null;
        if (!string.IsNullOrEmpty(body.FolderId)) last = await mailboxes.MoveAsync(address, body.Ids, body.FolderId, ct);
        if ((add | remove) != MessageFlags.None) last = await mailboxes.SetFlagsAsync(address, body.Ids, add, remove, ct);
        if (body.Delete == true) last = await mailboxes.DeleteAsync(address, body.Ids, ct);
        return TypedResults.Ok(new BatchResponse(last!.Updated, last.NotFound));
    }

    private static (MessageFlags Add, MessageFlags Remove) Flags(bool? read, bool? flagged)
    {
        MessageFlags add = MessageFlags.None, remove = MessageFlags.None;
        if (read == true) add |= MessageFlags.Seen;
        if (read == false) remove |= MessageFlags.Seen;
        if (flagged == true) add |= MessageFlags.Flagged;
        if (flagged == false) remove |= MessageFlags.Flagged;
        return (add, remove);
    }

    /// <summary>A sender-supplied type goes into a response header: allow only a plain type/subtype.</summary>
    private static string SafeContentType(string contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed) && parsed.MediaType.HasValue && !parsed.MediaType.Value.Contains('*')
            ? parsed.MediaType.Value!
            : "application/octet-stream";
}
