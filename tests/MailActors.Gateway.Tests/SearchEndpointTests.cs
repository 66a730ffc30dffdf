using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MailActors.Core.Search;
using MailActors.Gateway.Api;
using MailActors.Gateway.Tests.Infrastructure;
using MailActors.Mime;
using MimeKit;
using Xunit;
using static MailActors.Gateway.Tests.AuthTests;

namespace MailActors.Gateway.Tests;

public sealed class SearchEndpointTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private GatewayTestHost Host => fixture.Host;

    private static readonly DateTimeOffset Start = new(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);
    private int _sent;

    [Fact]
    public async Task A_word_in_the_body_finds_the_message_in_the_same_page_shape_as_a_folder_listing()
    {
        using var user = await Host.NewUserAsync();
        var hit = await DeliverAsync(user.Address, "Weekend plans", "Shall we take the kayak to the lake on Saturday?");
        await DeliverAsync(user.Address, "Invoice", "Your invoice for November is attached.");

        var page = await SearchAsync(user, "kayak");
        var item = Assert.Single(page.Items);
        Assert.Equal((hit, "Weekend plans", "inbox"), (item.Id, item.Subject, item.FolderId));
        Assert.Null(page.NextCursor);
        Assert.Empty((await SearchAsync(user, "canoe")).Items);

        // Exactly the JSON of GET /v1/folders/{id}/messages: same top-level and item properties.
        var search = await user.Http.GetFromJsonAsync<JsonElement>("/v1/search?q=kayak");
        var listing = await user.Http.GetFromJsonAsync<JsonElement>($"/v1/folders/inbox/messages?limit=1");
        Assert.Equal(Names(listing), Names(search));
        Assert.Equal(Names(listing.GetProperty("items")[0]), Names(search.GetProperty("items")[0]));
    }

    [Fact]
    public async Task From_and_subject_narrow_the_search()
    {
        using var user = await Host.NewUserAsync();
        var fromAnna = await DeliverAsync(user.Address, "Budget review", "Numbers for the budget.", from: "Anna Berg <anna@x.test>");
        var fromCarl = await DeliverAsync(user.Address, "Lunch", "About the budget, let's talk at lunch.", from: "carl@y.test");

        Assert.Equal([fromCarl, fromAnna], Ids(await SearchAsync(user, "budget")));
        Assert.Equal([fromAnna], Ids(await SearchAsync(user, "budget from:anna@x.test")));
        Assert.Equal([fromCarl], Ids(await SearchAsync(user, "budget from:carl@y.test")));
        Assert.Equal([fromAnna], Ids(await SearchAsync(user, "subject:budget")));
        Assert.Equal([fromCarl], Ids(await SearchAsync(user, "budget -subject:budget")));
        Assert.Empty((await SearchAsync(user, "subject:budget from:carl@y.test")).Items);
    }

    [Fact]
    public async Task Search_is_case_and_accent_insensitive()
    {
        using var user = await Host.NewUserAsync();
        var id = await DeliverAsync(user.Address, "Résumé attached", "Greetings from the Straße.");
        Assert.Equal([id], Ids(await SearchAsync(user, "RESUME")));
        Assert.Equal([id], Ids(await SearchAsync(user, "strasse")));
    }

    [Fact]
    public async Task Pages_follow_the_cursor_newest_first_disjoint_and_covering_every_hit()
    {
        using var user = await Host.NewUserAsync();
        var hits = new List<long>();
        for (var i = 0; i < 25; i++)
        {
            hits.Add(await DeliverAsync(user.Address, $"Report {i}", $"Quarterly numbers, part {i}."));
            if (i % 5 == 0) await DeliverAsync(user.Address, $"Other {i}", "Nothing to see here.");
        }

        var seen = new List<long>();
        var sizes = new List<int>();
        string? cursor = null;
        do
        {
            var page = await SearchAsync(user, "quarterly", $"&limit=10{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}");
            sizes.Add(page.Items.Count);
            seen.AddRange(page.Items.Select(m => m.Id));
            cursor = page.NextCursor;
        } while (cursor is not null && sizes.Count < 10);

        Assert.Equal([10, 10, 5], sizes);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(Enumerable.Reverse(hits), seen);
    }

    [Fact]
    public async Task Another_users_mail_never_appears()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var mallory = await Host.NewUserAsync("mallory");
        var alices = await DeliverAsync(alice.Address, "Secret plan", "The password is swordfish.");
        var mallorys = await DeliverAsync(mallory.Address, "Fishing", "I caught a swordfish.");

        Assert.Equal([alices], Ids(await SearchAsync(alice, "swordfish")));
        Assert.Equal([mallorys], Ids(await SearchAsync(mallory, "swordfish")));
        Assert.Empty((await SearchAsync(mallory, "password")).Items);
        Assert.Empty((await SearchAsync(mallory, "subject:secret")).Items);
    }

    [Fact]
    public async Task Marking_read_takes_the_message_out_of_is_unread()
    {
        using var user = await Host.NewUserAsync();
        var id = await DeliverAsync(user.Address, "Minutes", "Minutes of the meeting.");
        Assert.Equal([id], Ids(await SearchAsync(user, "is:unread minutes")));

        Assert.Equal(HttpStatusCode.OK, (await user.Http.PatchAsJsonAsync($"/v1/messages/{id}", new { read = true })).StatusCode);
        Assert.Empty((await SearchAsync(user, "is:unread minutes")).Items);
        var read = Assert.Single((await SearchAsync(user, "is:read minutes")).Items);
        Assert.True(read.Read);
    }

    [Fact]
    public async Task Deleting_to_trash_takes_the_message_out_of_in_inbox()
    {
        using var user = await Host.NewUserAsync();
        var id = await DeliverAsync(user.Address, "Coupon", "Ten percent off pizza.");
        Assert.Equal([id], Ids(await SearchAsync(user, "in:inbox pizza")));
        Assert.Equal([id], Ids(await SearchAsync(user, "pizza", "&folder=inbox")));

        Assert.Equal(HttpStatusCode.NoContent, (await user.Http.DeleteAsync($"/v1/messages/{id}")).StatusCode);
        Assert.Empty((await SearchAsync(user, "in:inbox pizza")).Items);
        Assert.Empty((await SearchAsync(user, "pizza", "&folder=inbox")).Items);
        var trashed = Assert.Single((await SearchAsync(user, "in:trash pizza")).Items);
        Assert.Equal((id, "trash"), (trashed.Id, trashed.FolderId));
        Assert.Equal([id], Ids(await SearchAsync(user, "pizza")));
    }

    [Theory]
    [InlineData("/v1/search")]
    [InlineData("/v1/search?q=")]
    [InlineData("/v1/search?q=%20%20%09")]
    public async Task A_missing_or_blank_query_is_a_400_problem(string url)
    {
        using var user = await Host.NewUserAsync();
        await AssertProblem(await user.Http.GetAsync(url), HttpStatusCode.BadRequest, SearchEndpoints.InvalidQueryType);
    }

    [Fact]
    public async Task A_query_over_1000_characters_is_a_400_problem()
    {
        using var user = await Host.NewUserAsync();
        await AssertProblem(await user.Http.GetAsync("/v1/search?q=" + new string('a', 1001)), HttpStatusCode.BadRequest, SearchEndpoints.InvalidQueryType);
    }

    // The parser reads a bad operator value ("before:notadate") as free words, by design; what
    // it refuses is a query with nothing to look for or with too many terms.
    [Theory]
    [InlineData("!!! ???")]
    [InlineData("a1 a2 a3 a4 a5 a6 a7 a8 a9 a10 a11 a12 a13 a14 a15 a16 a17 a18 a19 a20 a21 a22 a23 a24 a25 a26 a27 a28 a29 a30 a31 a32 a33")]
    public async Task A_query_the_mailbox_cannot_parse_is_invalid_query_with_the_parsers_reason(string q)
    {
        using var user = await Host.NewUserAsync();
        var problem = await AssertProblem(await user.Http.GetAsync("/v1/search?q=" + Uri.EscapeDataString(q)),
            HttpStatusCode.BadRequest, SearchEndpoints.InvalidQueryType);
        Assert.False(SearchQuery.TryParse(q, out _, out var reason));
        Assert.Equal(reason, problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("&limit=0", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData("&limit=500", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData("&limit=abc", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData("&cursor=%25%25%25", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData("&cursor=AAAAAAAAAAAA", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData("&folder=nope", HttpStatusCode.NotFound, "not-found")]
    public async Task Bad_paging_parameters_and_unknown_folders_are_problems_like_the_folder_listing(string query, HttpStatusCode status, string type)
    {
        using var user = await Host.NewUserAsync();
        var problem = await AssertProblem(await user.Http.GetAsync("/v1/search?q=hello" + query), status, type);
        if (query.StartsWith("&limit=", StringComparison.Ordinal) && query != "&limit=abc")
        {
            // Same rule and words as GET /v1/folders/{id}/messages.
            var listing = await AssertProblem(await user.Http.GetAsync("/v1/folders/inbox/messages?" + query[1..]), status, type);
            Assert.Equal(listing.GetProperty("detail").GetString(), problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task Without_credentials_search_is_a_401_problem()
    {
        using var client = Host.NewClient();
        var response = await client.GetAsync("/v1/search?q=hello");
        await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task The_endpoint_is_in_the_OpenAPI_document()
    {
        var openapi = await Host.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var search = openapi.GetProperty("paths").GetProperty("/v1/search").GetProperty("get");
        Assert.False(string.IsNullOrEmpty(search.GetProperty("summary").GetString()));
        Assert.True(search.GetProperty("responses").TryGetProperty("200", out _));
        Assert.True(search.GetProperty("responses").TryGetProperty("400", out _));
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static async Task<MessagePageResponse> SearchAsync(UserClient user, string q, string extra = "")
    {
        var response = await user.Http.GetAsync("/v1/search?q=" + Uri.EscapeDataString(q) + extra);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"search '{q}' answered {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<MessagePageResponse>(body, JsonSerializerOptions.Web)!;
    }

    private static IReadOnlyList<long> Ids(MessagePageResponse page) => page.Items.Select(m => m.Id).ToList();

    private static string[] Names(JsonElement element) => element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Delivers a plain-text message the way SMTP ingress does, body text included so it is
    /// searchable when the delivery is acknowledged. Each message is dated a minute after the last.
    /// </summary>
    private async Task<long> DeliverAsync(string to, string subject, string body, string from = "Bob <bob@x.test>")
    {
        var date = Start.AddMinutes(Interlocked.Increment(ref _sent)).ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture);
        var raw = $"From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{Guid.NewGuid():N}@test>\r\n"
            + $"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n";
        var stored = await Host.Blobs.PutAsync(new MemoryStream(Encoding.UTF8.GetBytes(raw)));
        MimeMessage message;
        await using (var stream = await Host.Blobs.OpenReadAsync(stored.Id)) message = await MimeMessage.LoadAsync(stream);
        var metadata = MessageParser.FromMime(message, stored.Id, stored.Size);
        var delivered = await Host.Mailboxes.DeliverAsync(to, Guid.NewGuid().ToString("N"), metadata, bodyText: MessageParser.BodyText(message));
        return delivered.MessageId;
    }
}
