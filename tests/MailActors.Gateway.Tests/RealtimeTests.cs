using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using MailActors.Gateway.Api;
using MailActors.Gateway.Tests.Infrastructure;
using MailKit.Net.Smtp;
using MimeKit;
using Xunit;
using static MailActors.Gateway.Tests.AuthTests;

namespace MailActors.Gateway.Tests;

/// <summary>A node on real sockets: Kestrel for HTTP/WebSocket, the SMTP ingress on a free port.</summary>
public sealed class KestrelFixture : IAsyncLifetime
{
    public GatewayTestHost Host { get; private set; } = null!;
    public async Task InitializeAsync() => Host = await GatewayTestHost.StartAsync(kestrel: true);
    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class RealtimeTests(KestrelFixture fixture) : IClassFixture<KestrelFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private GatewayTestHost Host => fixture.Host;

    [Fact]
    public async Task Mail_received_over_smtp_is_pushed_to_the_users_websocket()
    {
        using var user = await Host.NewUserAsync("ws");
        using var socket = await ConnectAsync(user);
        var hello = await ReceiveAsync(socket);
        Assert.Empty(hello.Events);

        await SendSmtpAsync(user.Address, "Pushed over the socket");
        var batch = await ReceiveUntilAsync(socket, b => b.Events.Any(e => e.Type == "message.new"));
        var delivered = batch.Events.First(e => e.Type == "message.new").Message!;
        Assert.Equal("Pushed over the socket", delivered.Subject);
        Assert.Equal("inbox", delivered.FolderId);
        var counts = batch.Events.Single(e => e.Type == "folder.counts").Counts!;
        Assert.Contains(counts, c => c.FolderId == "inbox" && c.Total == 1 && c.Unread == 1);

        // Marking it read through the API is pushed too.
        await user.Http.PatchAsJsonAsync($"/v1/messages/{delivered.Id}", new { read = true });
        var flags = await ReceiveUntilAsync(socket, b => b.Events.Any(e => e.Type == "message.flags"));
        Assert.Equal(["read"], flags.Events.First(e => e.Type == "message.flags").Add);
        Assert.True(long.Parse(flags.Cursor) > long.Parse(batch.Cursor));
    }

    [Fact]
    public async Task A_websocket_reconnecting_with_its_cursor_gets_what_it_missed()
    {
        using var user = await Host.NewUserAsync("ws");
        string cursor;
        using (var first = await ConnectAsync(user))
        {
            cursor = (await ReceiveAsync(first)).Cursor;
            await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }
        for (var i = 0; i < 3; i++) await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("a@x.test", user.Address, $"missed {i}"));

        using var second = await ConnectAsync(user, after: cursor);
        var subjects = new List<string>();
        while (subjects.Count < 3)
            subjects.AddRange((await ReceiveAsync(second)).Events.Where(e => e.Type == "message.new").Select(e => e.Message!.Subject));
        Assert.Equal(["missed 0", "missed 1", "missed 2"], subjects);
    }

    [Fact]
    public async Task Long_poll_resumes_from_its_cursor_without_losing_events()
    {
        using var user = await Host.NewUserAsync("poll");
        var start = (await user.Http.GetFromJsonAsync<EventBatch>("/v1/events?wait=0"))!;
        Assert.Empty(start.Events);

        // Delivered while no request is open: the next poll returns it at once.
        for (var i = 0; i < 2; i++) await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("a@x.test", user.Address, $"offline {i}"));
        var missed = (await user.Http.GetFromJsonAsync<EventBatch>($"/v1/events?after={start.Cursor}&wait=30"))!;
        Assert.Equal(["offline 0", "offline 1"], missed.Events.Where(e => e.Type == "message.new").Select(e => e.Message!.Subject));
        Assert.Contains(missed.Events, e => e.Type == "folder.counts");

        // Delivered while a poll is waiting: it answers with it.
        var waiting = user.Http.GetFromJsonAsync<EventBatch>($"/v1/events?after={missed.Cursor}&wait=30");
        await Task.Delay(300); // let the poll subscribe; correctness doesn't depend on it (the journal covers the gap)
        await Host.DeliverRawAsync(user.Address, GatewayTestHost.Mail("a@x.test", user.Address, "live"));
        var live = (await waiting.WaitAsync(Patience))!;
        Assert.Equal("live", Assert.Single(live.Events, e => e.Type == "message.new").Message!.Subject);

        // Nothing new: an empty batch after the wait, same cursor.
        var quiet = (await user.Http.GetFromJsonAsync<EventBatch>($"/v1/events?after={live.Cursor}&wait=1"))!;
        Assert.Empty(quiet.Events);
        Assert.Equal(live.Cursor, quiet.Cursor);

        await AssertProblem(await user.Http.GetAsync("/v1/events?after=-5"), HttpStatusCode.BadRequest, "invalid-request");
    }

    [Fact]
    public async Task Logging_out_closes_the_sessions_open_websocket()
    {
        using var user = await Host.NewUserAsync("ws");
        using var socket = await ConnectAsync(user);
        await ReceiveAsync(socket);
        Assert.Equal(HttpStatusCode.NoContent, (await user.Http.PostAsync("/v1/auth/logout", null)).StatusCode);
        var buffer = new byte[1024];
        var result = await socket.ReceiveAsync(buffer, new CancellationTokenSource(Patience).Token);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, result.CloseStatus);
    }

    [Fact]
    public async Task A_cursor_from_the_future_is_refused()
    {
        using var user = await Host.NewUserAsync("poll");
        await AssertProblem(await user.Http.GetAsync("/v1/events?after=9223372036854775807&wait=0"), HttpStatusCode.BadRequest, "invalid-request");
    }

    [Fact]
    public async Task Events_are_only_the_users_own()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var bob = await Host.NewUserAsync("bob");
        var cursor = (await alice.Http.GetFromJsonAsync<EventBatch>("/v1/events?wait=0"))!.Cursor;
        await Host.DeliverRawAsync(bob.Address, GatewayTestHost.Mail("a@x.test", bob.Address, "for bob"));
        var batch = (await alice.Http.GetFromJsonAsync<EventBatch>($"/v1/events?after={cursor}&wait=1"))!;
        Assert.Empty(batch.Events);
    }

    [Fact]
    public async Task Oversized_request_bodies_are_413_problems()
    {
        using var user = await Host.NewUserAsync();
        var response = await user.Http.PostAsJsonAsync("/v1/folders", new { name = new string('x', 200 * 1024) });
        await AssertProblem(response, HttpStatusCode.RequestEntityTooLarge, "too-large");
    }

    [Fact]
    public async Task Compose_accepts_attachments_far_larger_than_the_json_limit()
    {
        using var alice = await Host.NewUserAsync("alice");
        using var bob = await Host.NewUserAsync("bob");
        var file = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(file);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(bob.Address), "to" },
            { new StringContent("big"), "subject" },
            { new StringContent("see attached"), "text" },
            { new ByteArrayContent(file), "attachments", "big.bin" },
        };
        Assert.Equal(HttpStatusCode.Created, (await alice.Http.PostAsync("/v1/messages", form)).StatusCode);
        var item = Assert.Single((await bob.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages"))!.Items);
        var message = (await bob.Http.GetFromJsonAsync<MessageDto>($"/v1/messages/{item.Id}"))!;
        Assert.Equal(file, await bob.Http.GetByteArrayAsync(Assert.Single(message.Attachments).Url));
    }

    [Fact]
    public async Task Realtime_connections_per_mailbox_are_capped()
    {
        using var user = await Host.NewUserAsync("many");
        var limit = GatewayTestHost.TestGatewayOptions.MaxRealtimeConnectionsPerMailbox;
        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < limit; i++) sockets.Add(await ConnectAsync(user));
            using var refused = new ClientWebSocket();
            refused.Options.CollectHttpResponseDetails = true;
            refused.Options.SetRequestHeader("Authorization", "Bearer " + user.Token);
            await Assert.ThrowsAsync<WebSocketException>(() =>
                refused.ConnectAsync(new UriBuilder(Host.BaseAddress) { Scheme = "ws", Path = "/v1/events" }.Uri, CancellationToken.None));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.HttpStatusCode);

            // Another user is not affected, and a closed socket frees its place.
            using var other = await Host.NewUserAsync("other");
            Assert.Equal(HttpStatusCode.OK, (await other.Http.GetAsync("/v1/events?wait=0")).StatusCode);
            await sockets[0].CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            await AwaitAsync(async () => (await user.Http.GetAsync("/v1/events?wait=0")).StatusCode == HttpStatusCode.OK);
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    private static async Task AwaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(50);
        }
    }

    private async Task<ClientWebSocket> ConnectAsync(UserClient user, string? after = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + user.Token);
        var uri = new UriBuilder(Host.BaseAddress) { Scheme = "ws", Path = "/v1/events", Query = after is null ? "" : "after=" + after }.Uri;
        await socket.ConnectAsync(uri, new CancellationTokenSource(Patience).Token);
        return socket;
    }

    internal static async Task<EventBatch> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException($"socket closed: {result.CloseStatusDescription}");
            message.Write(buffer, 0, result.Count);
        } while (!result.EndOfMessage);
        return JsonSerializer.Deserialize<EventBatch>(message.ToArray(), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    internal static async Task<EventBatch> ReceiveUntilAsync(ClientWebSocket socket, Func<EventBatch, bool> match)
    {
        while (true)
        {
            var batch = await ReceiveAsync(socket);
            if (match(batch)) return batch;
        }
    }

    private async Task SendSmtpAsync(string to, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@remote.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "hello" };
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync(Host.SmtpEndpoint.Address.ToString(), Host.SmtpEndpoint.Port, MailKit.Security.SecureSocketOptions.None);
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }
}
