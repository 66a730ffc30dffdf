using MailActors.Cluster;
using MailActors.Core;
using MailActors.Core.Search;
using MailActors.Gateway.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MailActors.Gateway.Api;

/// <summary>
/// GET /v1/search: full-text search of the user's mail. The mailbox actor owns the index and
/// parses the query (<see cref="SearchQuery"/>); the edge checks what it can without it and
/// answers with the same page shape as a folder listing.
/// </summary>
public static class SearchEndpoints
{
    public const string InvalidQueryType = "invalid-query";

    public static void Map(RouteGroupBuilder v1) =>
        v1.MapGet("/search", Search).WithTags("Search").RequireAuthorization()
            .WithSummary("Full-text search of all folders (or folder=), newest first; pass nextCursor back as cursor for the next page")
            .WithDescription("q: free words (all must match), \"phrases\", from: to: cc: subject: body: filename:, has:attachment, "
                + "is:unread|read|flagged, in:folder, before:/after:YYYY-MM-DD, larger:/smaller:10k|2M, '-' negates a term; "
                + "the last word also matches as a prefix. Case- and accent-insensitive.")
            .Produces<MessagePageResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> Search(HttpContext http, MailboxClient mailboxes, CancellationToken ct,
        string? q = null, int? limit = null, string? cursor = null, string? folder = null)
    {
        if (string.IsNullOrWhiteSpace(q)) return InvalidQuery("q must say what to search for");
        if (q.Length > SearchQuery.MaxLength) return InvalidQuery($"q is longer than {SearchQuery.MaxLength} characters");
        // Limit and cursor are checked here, with the folder listing's words and type, so that an
        // Invalid from the mailbox can only be about the query itself.
        var size = limit ?? FolderEndpoints.DefaultPageSize;
        if (size is < 1 or > SearchMessages.MaxLimit) return Problems.Invalid($"limit must be 1..{SearchMessages.MaxLimit}");
        if (string.IsNullOrEmpty(cursor)) cursor = null;
        else if (!MessageCursor.TryDecode(cursor, out _)) return Problems.Invalid("the cursor is not valid");

        MessagePageReply page;
        try
        {
            page = await mailboxes.SearchAsync(http.User.Address(), q, size, cursor, string.IsNullOrEmpty(folder) ? null : folder, ct);
        }
        catch (MailboxException e) when (e.Code == MailboxErrorCode.Invalid)
        {
            return InvalidQuery(e.Message);
        }
        // An unknown folder (NotFound) goes to the exception handler: 404 not-found like everywhere else.
        var items = new MessageSummaryDto[page.Items.Count];
        for (var i = 0; i < items.Length; i++) items[i] = MessageSummaryDto.Of(page.Items[i]);
        return TypedResults.Ok(new MessagePageResponse(items, page.NextCursor));
    }

    private static IResult InvalidQuery(string detail) =>
        Problems.Result(StatusCodes.Status400BadRequest, InvalidQueryType, "Invalid search", detail);
}
