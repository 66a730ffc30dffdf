using System.Text.Json;
using System.Text.Json.Serialization;
using MailActors.Core;

namespace MailActors.Gateway.Api;

// The JSON the API speaks. Kept apart from the actor protocol so the wire format of one can
// change without the other; all serialized by the source-generated GatewayJson context.

public sealed record Credentials(string Address, string Password);

public sealed record SignupResponse(string Address, DateTimeOffset CreatedAt);

public sealed record LoginResponse(string Token, string Address, DateTimeOffset ExpiresAt, string CsrfToken);

public sealed record AccountDto(string Address, string DisplayName, long QuotaBytes, long UsedBytes, int MessageCount);

public sealed record FolderDto(string Id, string Name, bool System, int Total, int Unread)
{
    public static FolderDto From(FolderInfo f) => new(f.Id, f.Name, f.IsSystem, f.Total, f.Unread);
}

public sealed record FolderListResponse(IReadOnlyList<FolderDto> Folders);

public sealed record CreateFolderRequest(string Name);

public sealed record RenameFolderRequest(string Name);

public sealed record AttachmentSummaryDto(string FileName, string ContentType, long Size);

public sealed record MessageSummaryDto(
    long Id,
    string FolderId,
    string From,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    string Subject,
    string Snippet,
    DateTimeOffset? Date,
    DateTimeOffset ReceivedAt,
    long Size,
    bool Read,
    bool Flagged,
    bool Answered,
    IReadOnlyList<AttachmentSummaryDto> Attachments)
{
    public static MessageSummaryDto Of(MessageSummary m) => Of(m.Id, m.FolderId, m.ReceivedAt, m.Flags, m.Metadata);

    public static MessageSummaryDto Of(long id, string folderId, DateTimeOffset receivedAt, MessageFlags flags, MessageMetadata meta) => new(
        id, folderId, meta.From, meta.To, meta.Cc, meta.Subject, meta.Snippet, meta.Date, receivedAt, meta.Size,
        (flags & MessageFlags.Seen) != 0, (flags & MessageFlags.Flagged) != 0, (flags & MessageFlags.Answered) != 0,
        meta.Attachments.Count == 0 ? [] : meta.Attachments.Select(a => new AttachmentSummaryDto(a.FileName, a.ContentType, a.Size)).ToList());
}

public sealed record MessagePageResponse(IReadOnlyList<MessageSummaryDto> Items, string? NextCursor);

public sealed record HeaderDto(string Name, string Value);

public sealed record AttachmentDto(string PartId, string FileName, string ContentType, long Size, bool Inline, string Url);

public sealed record MessageDto(
    MessageSummaryDto Summary,
    IReadOnlyList<HeaderDto> Headers,
    string? Text,
    string? Html,
    bool RemoteContentBlocked,
    IReadOnlyList<AttachmentDto> Attachments);

/// <summary>PATCH body: every field optional; only the given ones change.</summary>
public sealed record UpdateMessageRequest(bool? Read, bool? Flagged, string? FolderId);

public sealed record BatchRequest(IReadOnlyList<long> Ids, bool? Read, bool? Flagged, string? FolderId, bool? Delete);

public sealed record BatchResponse(IReadOnlyList<long> Updated, IReadOnlyList<long> NotFound);

public sealed record ComposeJson(
    IReadOnlyList<string>? To,
    IReadOnlyList<string>? Cc,
    IReadOnlyList<string>? Bcc,
    string? Subject,
    string? Text,
    string? Html,
    string? InReplyTo);

public sealed record RecipientFailure(string Address, string Reason);

/// <summary>The Sent copy's id, the Message-ID header, and what happened per recipient (remote ones are queued; a failure comes back as a bounce).</summary>
public sealed record SentResponse(long Id, string FolderId, string MessageId, IReadOnlyList<string> DeliveredTo, IReadOnlyList<RecipientFailure> NotDelivered,
    IReadOnlyList<string> Queued);

// ---- realtime ---------------------------------------------------------------------------

/// <summary>One change a client sees; <see cref="Type"/> says which of the optional fields are set.</summary>
public sealed record ClientEvent(
    string Type,
    long Seq,
    MessageSummaryDto? Message = null,
    IReadOnlyList<long>? Ids = null,
    string? FolderId = null,
    IReadOnlyList<string>? Add = null,
    IReadOnlyList<string>? Remove = null,
    FolderDto? Folder = null,
    IReadOnlyList<string>? FolderIds = null,
    IReadOnlyList<FolderCountDto>? Counts = null);

public sealed record FolderCountDto(string FolderId, int Total, int Unread);

/// <summary>A batch of events; resume with <c>after=</c><see cref="Cursor"/>.</summary>
public sealed record EventBatch(string Cursor, IReadOnlyList<ClientEvent> Events);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Credentials))]
[JsonSerializable(typeof(SignupResponse))]
[JsonSerializable(typeof(LoginResponse))]
[JsonSerializable(typeof(AccountDto))]
[JsonSerializable(typeof(FolderListResponse))]
[JsonSerializable(typeof(FolderDto))]
[JsonSerializable(typeof(CreateFolderRequest))]
[JsonSerializable(typeof(RenameFolderRequest))]
[JsonSerializable(typeof(MessagePageResponse))]
[JsonSerializable(typeof(MessageDto))]
[JsonSerializable(typeof(UpdateMessageRequest))]
[JsonSerializable(typeof(BatchRequest))]
[JsonSerializable(typeof(BatchResponse))]
[JsonSerializable(typeof(ComposeJson))]
[JsonSerializable(typeof(SentResponse))]
[JsonSerializable(typeof(EventBatch))]
[JsonSerializable(typeof(QueueResponse))]
[JsonSerializable(typeof(QueueUpdateResponse))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails))]
public sealed partial class GatewayJson : JsonSerializerContext;
