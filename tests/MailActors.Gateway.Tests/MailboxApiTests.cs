using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MailActors.Core;
using MailActors.Gateway.Api;
using MailActors.Gateway.Tests.Infrastructure;
using Xunit;
using static MailActors.Gateway.Tests.AuthTests;

namespace MailActors.Gateway.Tests;

public sealed class MailboxApiTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private GatewayTestHost Host => fixture.Host;

    [Fact]
    public async Task Folders_list_with_counts_and_can_be_created_renamed_and_deleted()
    {
        using var user = await Host.NewUserAsync();
        await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("a@x.test", user.Address, "one"));
        var folders = (await user.Http.GetFromJsonAsync<FolderListResponse>("/v1/folders"))!.Folders;
        Assert.Equal(["inbox", "sent", "drafts", "trash", "spam", "archive"], folders.Select(f => f.Id));
        var inbox = folders[0];
        Assert.Equal((1, 1, true), (inbox.Total, inbox.Unread, inbox.System));

        var created = await user.Http.PostAsJsonAsync("/v1/folders", new { name = "Projects" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var folder = (await created.Content.ReadFromJsonAsync<FolderDto>())!;
        Assert.Equal($"/v1/folders/{folder.Id}", created.Headers.Location!.OriginalString);

        await AssertProblem(await user.Http.PostAsJsonAsync("/v1/folders", new { name = "projects" }), HttpStatusCode.Conflict, "already-exists");
        await AssertProblem(await user.Http.PostAsJsonAsync("/v1/folders", new { name = "" }), HttpStatusCode.BadRequest, "invalid-request");

        var renamed = await user.Http.PatchAsJsonAsync($"/v1/folders/{folder.Id}", new { name = "Work" });
        Assert.Equal("Work", (await renamed.Content.ReadFromJsonAsync<FolderDto>())!.Name);
        await AssertProblem(await user.Http.PatchAsJsonAsync("/v1/folders/inbox", new { name = "Post" }), HttpStatusCode.Forbidden, "forbidden");

        Assert.Equal(HttpStatusCode.NoContent, (await user.Http.DeleteAsync($"/v1/folders/{folder.Id}")).StatusCode);
        await AssertProblem(await user.Http.DeleteAsync($"/v1/folders/{folder.Id}"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Messages_page_newest_first_with_a_cursor_that_is_stable_under_concurrent_delivery()
    {
        using var user = await Host.NewUserAsync();
        for (var i = 0; i < 120; i++) await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("a@x.test", user.Address, $"m{i:000}"));

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await user.Http.GetFromJsonAsync<MessagePageResponse>(
                $"/v1/folders/inbox/messages?limit=50{(cursor is null ? "" : "&cursor=" + cursor)}"))!;
            seen.AddRange(page.Items.Select(m => m.Subject));
            cursor = page.NextCursor;
            // New mail arriving between pages lands above the cursor: it must not shift what follows.
            if (pages++ == 0)
                for (var i = 0; i < 10; i++) await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("b@x.test", user.Address, $"new{i}"));
        } while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 120).Reverse().Select(i => $"m{i:000}"), seen);
    }

    [Fact]
    public async Task Messages_filter_by_read_state_and_bad_parameters_are_problems()
    {
        using var user = await Host.NewUserAsync();
        var ids = new List<long>();
        for (var i = 0; i < 4; i++) ids.Add(await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("a@x.test", user.Address, $"m{i}")));
        Assert.Equal(HttpStatusCode.OK, (await user.Http.PatchAsJsonAsync($"/v1/messages/{ids[1]}", new { read = true })).StatusCode);

        var unread = (await user.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages?status=unread"))!;
        Assert.Equal(["m3", "m2", "m0"], unread.Items.Select(m => m.Subject));
        var read = (await user.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages?status=read"))!;
        Assert.Equal("m1", Assert.Single(read.Items).Subject);
        Assert.True(read.Items[0].Read);

        await AssertProblem(await user.Http.GetAsync("/v1/folders/inbox/messages?status=maybe"), HttpStatusCode.BadRequest, "invalid-request");
        await AssertProblem(await user.Http.GetAsync("/v1/folders/inbox/messages?limit=0"), HttpStatusCode.BadRequest, "invalid-request");
        await AssertProblem(await user.Http.GetAsync("/v1/folders/inbox/messages?limit=5000"), HttpStatusCode.BadRequest, "invalid-request");
        await AssertProblem(await user.Http.GetAsync("/v1/folders/inbox/messages?cursor=%%%"), HttpStatusCode.BadRequest, "invalid-request");
        await AssertProblem(await user.Http.GetAsync("/v1/folders/nope/messages"), HttpStatusCode.NotFound, "not-found");
        Assert.Equal(HttpStatusCode.BadRequest, (await user.Http.GetAsync("/v1/folders/inbox/messages?limit=abc")).StatusCode);
    }

    [Fact]
    public async Task A_message_opens_with_sanitized_html_and_attachments_that_download_intact()
    {
        using var user = await Host.NewUserAsync();
        var pdf = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray();
        var raw = $"""
            From: Bob <bob@x.test>
            To: {user.Address}
            Subject: Report
            Date: Fri, 04 Dec 2026 10:00:00 +0000
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b1"

            --b1
            Content-Type: text/html; charset=utf-8

            <p onclick="steal()">Hi <b>there</b></p><script>alert(1)</script><img src="https://tracker.example/p.gif">
            --b1
            Content-Type: application/pdf; name="report.pdf"
            Content-Disposition: attachment; filename="report.pdf"
            Content-Transfer-Encoding: base64

            {Convert.ToBase64String(pdf, Base64FormattingOptions.InsertLineBreaks)}
            --b1--
            """.ReplaceLineEndings("\r\n");
        var id = await Host.DeliverRawAsync(user.Address, raw);

        var message = (await user.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{id}"))!;
        Assert.Equal("Report", message.Summary.Subject);
        Assert.Contains("<b>there</b>", message.Html);
        Assert.DoesNotContain("<script", message.Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("onclick", message.Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" src=\"https://tracker", message.Html);
        Assert.True(message.RemoteContentBlocked);
        Assert.Contains(message.Headers, h => h.Name == "Subject" && h.Value == "Report");

        var attachment = Assert.Single(message.Attachments);
        Assert.Equal(("report.pdf", "application/pdf"), (attachment.FileName, attachment.ContentType));
        var download = await user.Http.GetAsync(attachment.Url);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/pdf", download.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(pdf, await download.Content.ReadAsByteArrayAsync());
        await AssertProblem(await user.Http.GetAsync($"/v1/messages/{id}/attachments/99"), HttpStatusCode.NotFound, "not-found");

        var rawResponse = await user.Http.GetAsync($"/v1/messages/{id}/raw");
        Assert.Equal("message/rfc822", rawResponse.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Encoding.UTF8.GetBytes(raw), await rawResponse.Content.ReadAsByteArrayAsync());

        // Opening again with remote images allowed keeps the image.
        var withImages = (await user.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{id}?images=remote"))!;
        Assert.Contains("https://tracker.example/p.gif", withImages.Html);
    }

    [Fact]
    public async Task Another_users_message_and_folder_ids_are_404_never_403()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var mallory = await Host.NewUserAsync("mallory");
        var id = await Host.DeliverRawAsync(alice.Address, GatewayTestHost.Mail("a@x.test", alice.Address, "private"));
        var folder = (await (await alice.Http.PostAsJsonAsync("/v1/folders", new { name = "Secret" })).Content.ReadFromJsonAsync<FolderDto>())!;

        await AssertProblem(await mallory.Http.GetAsync($"/v1/messages/{id}"), HttpStatusCode.NotFound, "not-found");
        await AssertProblem(await mallory.Http.GetAsync($"/v1/messages/{id}/raw"), HttpStatusCode.NotFound, "not-found");
        await AssertProblem(await mallory.Http.GetAsync($"/v1/messages/{id}/attachments/1"), HttpStatusCode.NotFound, "not-found");
        await AssertProblem(await mallory.Http.PatchAsJsonAsync($"/v1/messages/{id}", new { read = true }), HttpStatusCode.NotFound, "not-found");
        await AssertProblem(await mallory.Http.DeleteAsync($"/v1/messages/{id}"), HttpStatusCode.NotFound, "not-found");
        var batch = (await (await mallory.Http.PostAsJsonAsync("/v1/messages/batch", new { ids = new[] { id }, delete = true }))
            .Content.ReadFromJsonAsync<BatchResponse>())!;
        Assert.Equal([id], batch.NotFound);
        await AssertProblem(await mallory.Http.GetAsync($"/v1/folders/{folder.Id}/messages"), HttpStatusCode.NotFound, "not-found");
        await AssertProblem(await mallory.Http.DeleteAsync($"/v1/folders/{folder.Id}"), HttpStatusCode.NotFound, "not-found");

        // Alice's message is untouched.
        var mine = (await alice.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{id}"))!;
        Assert.Equal(("inbox", false), (mine.Summary.FolderId, mine.Summary.Read));
    }

    [Fact]
    public async Task Messages_are_marked_moved_deleted_singly_and_in_batches()
    {
        using var user = await Host.NewUserAsync();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++) ids.Add(await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("a@x.test", user.Address, $"m{i}")));

        var patched = (await (await user.Http.PatchAsJsonAsync($"/v1/messages/{ids[0]}", new { read = true, flagged = true, folderId = "archive" }))
            .Content.ReadFromJsonAsync<MessageSummaryDto>())!;
        Assert.Equal((true, true, "archive"), (patched.Read, patched.Flagged, patched.FolderId));
        await AssertProblem(await user.Http.PatchAsJsonAsync($"/v1/messages/{ids[1]}", new { folderId = "nope" }), HttpStatusCode.NotFound, "not-found");

        Assert.Equal(HttpStatusCode.NoContent, (await user.Http.DeleteAsync($"/v1/messages/{ids[1]}")).StatusCode);
        Assert.Equal("trash", (await user.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{ids[1]}"))!.Summary.FolderId);
        Assert.Equal(HttpStatusCode.NoContent, (await user.Http.DeleteAsync($"/v1/messages/{ids[1]}")).StatusCode);
        await AssertProblem(await user.Http.GetAsync($"/v1/messages/{ids[1]}"), HttpStatusCode.NotFound, "not-found");

        var batch = (await (await user.Http.PostAsJsonAsync("/v1/messages/batch", new { ids = new[] { ids[2], ids[3], 999_999L }, read = true }))
            .Content.ReadFromJsonAsync<BatchResponse>())!;
        Assert.Equal([ids[2], ids[3]], batch.Updated);
        Assert.Equal([999_999L], batch.NotFound);
        var unread = (await user.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages?status=unread"))!;
        Assert.Equal([ids[4]], unread.Items.Select(m => m.Id));

        await AssertProblem(await user.Http.PostAsJsonAsync("/v1/messages/batch", new { ids = Array.Empty<long>(), read = true }), HttpStatusCode.BadRequest, "invalid-request");
        await AssertProblem(await user.Http.PostAsJsonAsync("/v1/messages/batch", new { ids = new[] { ids[4] } }), HttpStatusCode.BadRequest, "invalid-request");
        await AssertProblem(await user.Http.PostAsJsonAsync("/v1/messages/batch", new { ids = Enumerable.Range(1, 1001).ToArray(), read = true }),
            HttpStatusCode.BadRequest, "invalid-request");
    }

    [Fact]
    public async Task OpenApi_document_docs_health_and_metrics_are_served()
    {
        var openapi = await Host.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = openapi.GetProperty("paths");
        foreach (var path in new[] { "/v1/folders/{id}/messages", "/v1/messages/{id}", "/v1/auth/login", "/v1/events", "/v1/messages" })
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        Assert.Equal(HttpStatusCode.OK, (await Host.Client.GetAsync("/docs/index.html")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Host.Client.GetAsync("/health/live")).StatusCode);
        var ready = await Host.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());

        using var user = await Host.NewUserAsync();
        await user.Http.GetAsync("/v1/folders");
        var metrics = await Host.Client.GetStringAsync("/metrics");
        Assert.Contains("mailactors_gateway_logins", metrics);
        Assert.Contains("mailactors_mailbox_request_duration", metrics);
        Assert.Contains("http_server_request_duration", metrics);
    }
}
