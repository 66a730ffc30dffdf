using MailActors.Cluster;
using MailActors.Cluster.Outbound;
using MailActors.Core;
using MailActors.Gateway.Auth;
using MailActors.Mime;
using MailActors.Storage.Blobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace MailActors.Gateway.Api;

/// <summary>
/// POST /v1/messages: build the message with MimeKit, then the same path as SMTP submission
/// (<see cref="MailSender"/>): a copy in the sender's Sent, local recipients delivered now,
/// remote ones DKIM-signed and queued durably for the egress.
/// </summary>
public static class ComposeEndpoints
{
    public const string IdempotencyHeader = "Idempotency-Key";

    public static void Map(RouteGroupBuilder v1, GatewayOptions options) =>
        v1.MapPost("/messages", Send).WithTags("Messages").RequireAuthorization()
            .WithMetadata(new RequestSizeLimit(options.MaxComposeBytes)) // attachments: more than the API's JSON limit
            .Accepts<ComposeJson>("application/json", "multipart/form-data")
            .DisableAntiforgery()
            .WithSummary($"Send a message (JSON, or multipart/form-data with attachment files); '{IdempotencyHeader}' makes retries safe");

    private static async Task<IResult> Send(HttpContext http, MailSender mail, IBlobStore blobs, GatewayOptions options,
        GatewayMetrics metrics, TimeProvider clock, CancellationToken ct)
    {
        var sender = http.User.Mailbox();
        var (request, error) = await ReadRequestAsync(http, sender, options, ct);
        if (request is null) return error!;
        try
        {
            var limits = new ComposeLimits { MaxRecipients = options.MaxRecipients, MaxAttachmentBytes = options.MaxAttachmentBytes, MaxTotalBytes = options.MaxComposeBytes };
            var built = MessageComposer.Build(request, limits, clock.GetUtcNow(), sender.Domain);
            if (!built.Ok)
            {
                var errors = built.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray());
                return TypedResults.ValidationProblem(errors, title: "The message can't be sent", type: Problems.TypeBase + "invalid-message");
            }
            // Disposing the message removes temp copies of attachments the composer had to buffer.
            using var message = built.Message!;
            var recipients = MessageComposer.AllRecipients(message);

            var unknown = await mail.UnknownLocalRecipientsAsync(recipients, ct);
            if (unknown.Count > 0)
                return Problems.Result(422, "unknown-recipients", "Unknown recipients",
                    $"no such mailbox: {string.Join(", ", unknown)}; nothing was sent", new Dictionary<string, object?> { ["recipients"] = unknown });

            var key = http.Request.Headers[IdempotencyHeader].ToString();
            if (key.Length > 200) return Problems.Invalid($"{IdempotencyHeader} has at most 200 characters");
            // MailSender derives fixed-length, per-user delivery ids from this key.
            var deliveryId = "http:" + (key.Length > 0 ? key : Guid.NewGuid().ToString("N"));

            var sentCopy = await blobs.PutAsync((stream, token) => MessageComposer.WriteAsync(message, stream, includeBcc: true, token), ct);
            var deliveredCopy = await blobs.PutAsync((stream, token) => MessageComposer.WriteAsync(message, stream, includeBcc: false, token), ct);
            var bodyText = MessageParser.BodyText(message); // the same for both copies (they differ only in Bcc)
            var result = await mail.SendAsync(sender, sender.Value, recipients,
                new OutgoingCopy(sentCopy.Id, sentCopy.Size, MessageParser.FromMime(message, sentCopy.Id, sentCopy.Size), bodyText),
                new OutgoingCopy(deliveredCopy.Id, deliveredCopy.Size, MessageParser.FromMime(message, deliveredCopy.Id, deliveredCopy.Size), bodyText),
                deliveryId, ct);
            metrics.MessagesSent.Add(1);
            return TypedResults.Created($"/v1/messages/{result.SentMessageId}",
                new SentResponse(result.SentMessageId, SystemFolders.Sent, "<" + message.MessageId + ">", result.Delivered,
                    result.Failed.Select(f => new RecipientFailure(f.Address, f.Reason)).ToList(), result.Queued));
        }
        finally
        {
            foreach (var a in request.Attachments) await a.Content.DisposeAsync();
        }
    }

    private static async Task<(ComposeRequest? Request, IResult? Error)> ReadRequestAsync(HttpContext http, MailboxId sender, GatewayOptions options, CancellationToken ct)
    {
        try
        {
            return await ParseRequestAsync(http, sender, options, ct);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException || (e is IOException && !ct.IsCancellationRequested))
        {
            // Malformed JSON, wrong types, a broken or truncated multipart body, one over the form limits.
            return (null, Problems.Invalid("the request body could not be read: " + e.Message));
        }
    }

    private static async Task<(ComposeRequest? Request, IResult? Error)> ParseRequestAsync(HttpContext http, MailboxId sender, GatewayOptions options, CancellationToken ct)
    {
        if (http.Request.HasJsonContentType())
        {
            var json = await http.Request.ReadFromJsonAsync(GatewayJson.Default.ComposeJson, ct);
            if (json is null) return (null, Problems.Invalid("the body must be a JSON object"));
            return (new ComposeRequest(sender.Value, null, json.To ?? [], json.Cc ?? [], json.Bcc ?? [], json.Subject ?? "",
                json.Text, json.Html, [], json.InReplyTo), null);
        }
        var contentType = http.Request.ContentType ?? "";
        var multipartWithoutBoundary = contentType.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase)
            && !contentType.Contains("boundary=", StringComparison.OrdinalIgnoreCase);
        if (!http.Request.HasFormContentType || multipartWithoutBoundary)
            return (null, Problems.Result(415, "unsupported-media-type", "Unsupported media type", "send application/json or multipart/form-data"));

        var form = await http.Request.ReadFormAsync(ct);
        var attachments = new List<ComposeAttachment>();
        foreach (var file in form.Files)
        {
            if (file.Length > options.MaxAttachmentBytes)
            {
                foreach (var a in attachments) await a.Content.DisposeAsync();
                return (null, Problems.Result(413, "attachment-too-large", "Attachment too large",
                    $"'{file.FileName}' is {file.Length} bytes; the limit is {options.MaxAttachmentBytes}"));
            }
            attachments.Add(new ComposeAttachment(file.FileName, string.IsNullOrEmpty(file.ContentType) ? "application/octet-stream" : file.ContentType, file.OpenReadStream()));
        }
        return (new ComposeRequest(sender.Value, null, List(form["to"]), List(form["cc"]), List(form["bcc"]), form["subject"].ToString(),
            NullIfEmpty(form["text"].ToString()), NullIfEmpty(form["html"].ToString()), attachments, NullIfEmpty(form["inReplyTo"].ToString())), null);
    }

    /// <summary>Form fields may repeat or hold comma-separated addresses.</summary>
    private static List<string> List(Microsoft.Extensions.Primitives.StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
