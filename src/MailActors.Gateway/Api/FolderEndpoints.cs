using MailActors.Cluster;
using MailActors.Core;
using MailActors.Gateway.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace MailActors.Gateway.Api;

public static class FolderEndpoints
{
    public const int DefaultPageSize = 50;

    public static void Map(RouteGroupBuilder v1)
    {
        var folders = v1.MapGroup("/folders").WithTags("Folders").RequireAuthorization();
        folders.MapGet("/", List).WithSummary("All folders with total and unread counts");
        folders.MapPost("/", Create).WithSummary("Create a folder ('/' separates levels: 'Projects/2026')");
        folders.MapPatch("/{id}", Rename).WithSummary("Rename a folder (its sub-folders follow)");
        folders.MapDelete("/{id}", Delete).WithSummary("Delete a folder and its sub-folders; their mail moves to Trash");
        folders.MapGet("/{id}/messages", Messages)
            .WithSummary("Messages in a folder, newest first; pass nextCursor back as cursor for the next page");
    }

    private static async Task<Ok<FolderListResponse>> List(HttpContext http, MailboxClient mailboxes, CancellationToken ct)
    {
        var folders = await mailboxes.ListFoldersAsync(http.User.Address(), ct);
        return TypedResults.Ok(new FolderListResponse(folders.Select(FolderDto.From).ToList()));
    }

    private static async Task<IResult> Create(CreateFolderRequest body, HttpContext http, MailboxClient mailboxes, CancellationToken ct)
    {
        var folder = await mailboxes.CreateFolderAsync(http.User.Address(), body.Name ?? "", ct);
        return TypedResults.Created($"/v1/folders/{Uri.EscapeDataString(folder.Id)}", FolderDto.From(folder));
    }

    private static async Task<IResult> Rename(string id, RenameFolderRequest body, HttpContext http, MailboxClient mailboxes, CancellationToken ct) =>
        TypedResults.Ok(FolderDto.From(await mailboxes.RenameFolderAsync(http.User.Address(), id, body.Name ?? "", ct)));

    private static async Task<IResult> Delete(string id, HttpContext http, MailboxClient mailboxes, CancellationToken ct)
    {
        await mailboxes.DeleteFolderAsync(http.User.Address(), id, ct);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> Messages(string id, HttpContext http, MailboxClient mailboxes, CancellationToken ct,
        string? status = null, int? limit = null, string? cursor = null)
    {
        MessageStatusFilter filter;
        switch (status?.ToLowerInvariant())
        {
            case null or "" or "all": filter = MessageStatusFilter.All; break;
            case "read": filter = MessageStatusFilter.Read; break;
            case "unread": filter = MessageStatusFilter.Unread; break;
            default: return Problems.Invalid("status is all, read or unread");
        }
        var page = await mailboxes.ListMessagesAsync(http.User.Address(), id, filter, limit ?? DefaultPageSize, cursor, ct);
        var items = new MessageSummaryDto[page.Items.Count];
        for (var i = 0; i < items.Length; i++) items[i] = MessageSummaryDto.Of(page.Items[i]);
        return TypedResults.Ok(new MessagePageResponse(items, page.NextCursor));
    }
}
