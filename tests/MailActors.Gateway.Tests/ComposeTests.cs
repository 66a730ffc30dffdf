using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using MailActors.Gateway.Api;
using MailActors.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static MailActors.Gateway.Tests.AuthTests;

namespace MailActors.Gateway.Tests;

public sealed class ComposeTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private GatewayTestHost Host => fixture.Host;

    [Fact]
    public async Task A_sent_message_lands_in_Sent_and_in_every_local_recipients_Inbox_without_leaking_Bcc()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var bob = await Host.NewUserAsync("bob");
        using var carol = await Host.NewUserAsync("carol");
        var response = await alice.Http.PostAsJsonAsync("/v1/messages", new
        {
            to = new[] { bob.Address }, bcc = new[] { carol.Address }, subject = "Lunch?", text = "Noon at the usual place.",
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = (await response.Content.ReadFromJsonAsync<SentResponse>())!;
        Assert.Equal("sent", sent.FolderId);
        Assert.Equal([bob.Address, carol.Address], sent.DeliveredTo.Order());

        var copy = (await alice.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{sent.Id}"))!;
        Assert.True(copy.Summary.Read);
        Assert.Contains(carol.Address, await alice.Http.GetStringAsync($"/v1/messages/{sent.Id}/raw"));

        foreach (var recipient in new[] { bob, carol })
        {
            var inbox = (await recipient.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages"))!;
            var item = Assert.Single(inbox.Items);
            Assert.Equal(("Lunch?", false), (item.Subject, item.Read));
            Assert.Contains(alice.Address, item.From);
            var raw = await recipient.Http.GetStringAsync($"/v1/messages/{item.Id}/raw");
            Assert.DoesNotContain("Bcc:", raw, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(carol.Address, raw);
            Assert.Contains("Noon at the usual place.", (await recipient.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{item.Id}"))!.Text);
        }
    }

    [Fact]
    public async Task Multipart_compose_carries_attachments_byte_for_byte()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var bob = await Host.NewUserAsync("bob");
        var file = Enumerable.Range(0, 70_000).Select(i => (byte)(i % 251)).ToArray();
        using var form = new MultipartFormDataContent
        {
            { new StringContent(bob.Address), "to" },
            { new StringContent("Photos"), "subject" },
            { new StringContent("<p>See <i>attached</i></p>"), "html" },
        };
        var part = new ByteArrayContent(file);
        part.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(part, "attachments", "beach.jpg");
        var response = await alice.Http.PostAsync("/v1/messages", form);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var item = Assert.Single((await bob.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages"))!.Items);
        var message = (await bob.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{item.Id}"))!;
        Assert.Contains("<i>attached</i>", message.Html);
        Assert.Contains("attached", message.Text);
        var attachment = Assert.Single(message.Attachments);
        Assert.Equal(("beach.jpg", "image/jpeg"), (attachment.FileName, attachment.ContentType));
        Assert.Equal(file, await bob.Http.GetByteArrayAsync(attachment.Url));
    }

    [Fact]
    public async Task Unknown_local_recipients_are_refused_before_anything_is_stored()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var bob = await Host.NewUserAsync("bob");
        var unknown = await alice.Http.PostAsJsonAsync("/v1/messages", new { to = new[] { bob.Address, GatewayTestHost.NewAddress("ghost") }, subject = "x", text = "x" });
        await AssertProblem(unknown, HttpStatusCode.UnprocessableEntity, "unknown-recipients");
        Assert.Empty((await bob.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages"))!.Items);
        Assert.Empty((await alice.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/sent/messages"))!.Items);
    }

    [Fact]
    public async Task Remote_recipients_are_queued_dkim_signed_for_the_egress()
    {
        using var alice = await Host.NewUserAsync("alice");
        var response = await alice.Http.PostAsJsonAsync("/v1/messages", new { to = new[] { "someone@elsewhere.test" }, subject = "out", text = "x" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = (await response.Content.ReadFromJsonAsync<SentResponse>())!;
        Assert.Equal(["someone@elsewhere.test"], sent.Queued);

        var outbound = Host.Services.GetRequiredService<MailActors.Cluster.Outbound.OutboundClient>();
        var entry = Assert.Single((await outbound.ListAsync("elsewhere.test")).Entries);
        Assert.Equal((alice.Address, "someone@elsewhere.test"), (entry.Sender, Assert.Single(entry.Pending)));
        Assert.Single((await alice.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/sent/messages"))!.Items);
    }

    [Fact]
    public async Task Queue_administration_is_for_admins_only()
    {
        using var alice = await Host.NewUserAsync("alice");
        await AssertProblem(await alice.Http.GetAsync("/v1/admin/queue"), HttpStatusCode.Forbidden, "forbidden");

        await using var host = await GatewayTestHost.StartAsync(gateway: GatewayTestHost.TestGatewayOptions with { Admins = ["postmaster@example.test"] });
        await host.Client.PostAsJsonAsync("/v1/auth/signup", new { address = "postmaster@example.test", password = GatewayTestHost.Password });
        using var admin = await host.LoginAsync("postmaster@example.test");
        Assert.Equal(HttpStatusCode.Created, (await admin.Http.PostAsJsonAsync("/v1/messages", new { to = new[] { "x@far.test" }, subject = "q", text = "x" })).StatusCode);
        var queue = (await admin.Http.GetFromJsonAsync<QueueResponse>("/v1/admin/queue"))!;
        var entry = Assert.Single(Assert.Single(queue.Domains, d => d.Domain == "far.test").Entries);
        Assert.Equal(HttpStatusCode.OK, (await admin.Http.PostAsync("/v1/admin/queue/far.test/retry", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.Http.DeleteAsync($"/v1/admin/queue/far.test/{entry.QueueId}")).StatusCode);
        await AssertProblem(await admin.Http.DeleteAsync($"/v1/admin/queue/far.test/{entry.QueueId}"), HttpStatusCode.NotFound, "not-found");
    }

    [Theory]
    [InlineData("""{"to":["not an address"],"subject":"x","text":"x"}""", "to")]
    [InlineData("""{"to":[],"subject":"x","text":"x"}""", null)]
    [InlineData("""{"to":["b@example.test"],"subject":"x\r\nBcc: evil@elsewhere.test","text":"x"}""", "subject")]
    public async Task Invalid_messages_are_validation_problems(string json, string? field)
    {
        using var alice = await Host.NewUserAsync("alice");
        var response = await alice.Http.PostAsync("/v1/messages", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var problem = await AssertProblem(response, HttpStatusCode.BadRequest, "invalid-message");
        if (field is not null) Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Theory]
    [InlineData("application/json", "{\"to\": ")]
    [InlineData("application/json", "{\"to\": 5}")]
    [InlineData("application/json", "")]
    [InlineData("multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nb@example.test")]
    [InlineData("multipart/form-data", "anything")]
    public async Task Unreadable_bodies_are_4xx_problems_not_500s(string contentType, string body)
    {
        using var alice = await Host.NewUserAsync("alice");
        var content = new StringContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var response = await alice.Http.PostAsync("/v1/messages", content);
        Assert.InRange((int)response.StatusCode, 400, 499);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_long_address_and_idempotency_key_still_send()
    {
        var local = new string('a', 60);
        var address = $"{local}@{GatewayTestHost.Domain}";
        await Host.Client.PostAsJsonAsync("/v1/auth/signup", new { address, password = GatewayTestHost.Password });
        using var alice = await Host.LoginAsync(address);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(new { to = new[] { address }, subject = "me", text = "x" }) };
        request.Headers.Add("Idempotency-Key", new string('k', 200));
        Assert.Equal(HttpStatusCode.Created, (await alice.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Too_many_recipients_is_a_validation_problem()
    {
        using var alice = await Host.NewUserAsync("alice");
        var to = Enumerable.Range(0, 101).Select(i => $"r{i}@example.test").ToArray();
        var response = await alice.Http.PostAsJsonAsync("/v1/messages", new { to, subject = "x", text = "x" });
        await AssertProblem(response, HttpStatusCode.BadRequest, "invalid-message");
    }

    [Fact]
    public async Task The_same_Idempotency_Key_sends_once()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var bob = await Host.NewUserAsync("bob");
        for (var i = 0; i < 2; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(new { to = new[] { bob.Address }, subject = "once", text = "x" }) };
            request.Headers.Add("Idempotency-Key", "send-42");
            Assert.Equal(HttpStatusCode.Created, (await alice.Http.SendAsync(request)).StatusCode);
        }
        Assert.Single((await bob.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages"))!.Items);
        Assert.Single((await alice.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/sent/messages"))!.Items);
    }
}
