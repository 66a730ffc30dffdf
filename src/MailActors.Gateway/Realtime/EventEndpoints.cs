using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using MailActors.Core;
using MailActors.Gateway.Api;
using MailActors.Gateway.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace MailActors.Gateway.Realtime;

/// <summary>
/// GET /v1/events: a WebSocket that pushes the user's changes as they happen, or (without the
/// upgrade) a long-poll that answers as soon as there is something after <c>after</c>, or after
/// <c>wait</c> seconds. Both speak <see cref="EventBatch"/> and resume from its cursor, so a
/// client that reconnects misses nothing.
/// </summary>
public static class EventEndpoints
{
    public const int MaxWaitSeconds = 60;

    public static void Map(RouteGroupBuilder v1) =>
        v1.MapGet("/events", Events).WithTags("Realtime").RequireAuthorization()
            .WithSummary("WebSocket push of mailbox changes, or long-poll with after=<cursor>&wait=<seconds>");

    private static async Task<IResult> Events(HttpContext http, EventHub hub, ChangeFeed feed, GatewayMetrics metrics,
        ILoggerFactory logs, CancellationToken ct, string? after = null, int? wait = null)
    {
        long? start = null;
        if (!string.IsNullOrEmpty(after))
        {
            if (!long.TryParse(after, out var parsed) || parsed < 0) return Problems.Invalid("after is a cursor from an earlier response");
            start = parsed;
        }
        var mailbox = http.User.Mailbox();
        metrics.PushConnections.Add(1);
        try
        {
            if (http.WebSockets.IsWebSocketRequest)
            {
                await PushAsync(http, mailbox, start, hub, feed, metrics, logs.CreateLogger("MailActors.Gateway.Events"));
                return TypedResults.Empty;
            }
            var seconds = Math.Clamp(wait ?? 30, 0, MaxWaitSeconds);
            return TypedResults.Ok(await LongPollAsync(mailbox, start, TimeSpan.FromSeconds(seconds), hub, feed, metrics, ct));
        }
        finally
        {
            metrics.PushConnections.Add(-1);
        }
    }

    private static async Task<EventBatch> LongPollAsync(MailboxId mailbox, long? after, TimeSpan wait, EventHub hub, ChangeFeed feed,
        GatewayMetrics metrics, CancellationToken ct)
    {
        // Subscribe first, then read: whatever is published from here on is either in the
        // journal read below or arrives on the subscription.
        using var subscription = await hub.SubscribeAsync(mailbox, ct);
        var cursor = after ?? await feed.CurrentCursorAsync(mailbox, ct);
        var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        var settleCheck = subscription.UntilSettled > TimeSpan.Zero;
        while (true)
        {
            var (next, events) = await ReadMissedAsync(mailbox, cursor, feed, ct);
            cursor = next;
            if (events.Count > 0) return Batch(cursor, events, metrics);
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero) return new EventBatch(cursor.ToString(), []);
            // Until the subscription is known cluster-wide, wake up once to look at the journal.
            var nap = settleCheck && subscription.UntilSettled < left ? subscription.UntilSettled : left;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(nap);
            try
            {
                if (!await subscription.Reader.WaitToReadAsync(timeout.Token)) return new EventBatch(cursor.ToString(), []);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                settleCheck = false;
                continue;
            }
            var live = new List<ClientEvent>();
            var gap = false;
            while (subscription.Reader.TryRead(out var change))
            {
                if (change.FirstSeqNr > cursor + 1) { gap = true; break; }
                live.AddRange(ChangeFeed.FromChange(change, cursor));
                cursor = Math.Max(cursor, ChangeFeed.LastSeq(change));
            }
            if (!gap && live.Count > 0) return Batch(cursor, live, metrics);
            // On a gap the loop re-reads the journal, which has everything up to the notification.
        }
    }

    private static async Task PushAsync(HttpContext http, MailboxId mailbox, long? after, EventHub hub, ChangeFeed feed, GatewayMetrics metrics, ILogger log)
    {
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var receiving = ReceiveUntilClosedAsync(socket, closed);
        var ct = closed.Token;
        var closeStatus = WebSocketCloseStatus.NormalClosure;
        var closeReason = "bye";
        try
        {
            using var subscription = await hub.SubscribeAsync(mailbox, ct);
            var cursor = after ?? await feed.CurrentCursorAsync(mailbox, ct);
            // Hello: the client learns its cursor even when nothing has happened yet.
            await SendAsync(socket, new EventBatch(cursor.ToString(), []), ct);
            cursor = await CatchUpAsync(socket, mailbox, cursor, feed, metrics, ct);
            var settleCheck = subscription.UntilSettled > TimeSpan.Zero;
            while (true)
            {
                if (settleCheck)
                {
                    // Until the subscription is known cluster-wide, look at the journal once more.
                    using var settle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    settle.CancelAfter(subscription.UntilSettled);
                    try
                    {
                        if (!await subscription.Reader.WaitToReadAsync(settle.Token)) break;
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        settleCheck = false;
                        cursor = await CatchUpAsync(socket, mailbox, cursor, feed, metrics, ct);
                        continue;
                    }
                }
                else if (!await subscription.Reader.WaitToReadAsync(ct))
                {
                    break;
                }
                while (subscription.Reader.TryRead(out var change))
                {
                    if (change.FirstSeqNr > cursor + 1)
                    {
                        cursor = await CatchUpAsync(socket, mailbox, cursor, feed, metrics, ct);
                        continue;
                    }
                    var events = ChangeFeed.FromChange(change, cursor);
                    cursor = Math.Max(cursor, ChangeFeed.LastSeq(change));
                    if (events.Count > 0) await SendAsync(socket, Batch(cursor, events, metrics), ct);
                }
            }
        }
        catch (Exception e) when (e is SubscriberOverflowException || e.InnerException is SubscriberOverflowException)
        {
            log.LogWarning("realtime client of {Mailbox} fell behind; closing so it resumes from its cursor", mailbox);
            closeStatus = (WebSocketCloseStatus)1013; // "try again later"
            closeReason = "fell behind; reconnect with after=<last cursor>";
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The client went away or closed.
        }
        finally
        {
            await closed.CancelAsync();
            await receiving;
            // Only this loop sends, so the close frame can't race a data frame.
            await CloseAsync(socket, closeStatus, closeReason);
        }
    }

    /// <summary>Sends journal events after the cursor until there are none left; returns the new cursor.</summary>
    private static async Task<long> CatchUpAsync(WebSocket socket, MailboxId mailbox, long cursor, ChangeFeed feed, GatewayMetrics metrics, CancellationToken ct)
    {
        while (true)
        {
            var (next, events) = await ReadMissedAsync(mailbox, cursor, feed, ct);
            if (next == cursor) return cursor;
            cursor = next;
            if (events.Count > 0) await SendAsync(socket, Batch(cursor, events, metrics), ct);
        }
    }

    private static async Task<(long Cursor, List<ClientEvent> Events)> ReadMissedAsync(MailboxId mailbox, long cursor, ChangeFeed feed, CancellationToken ct)
    {
        var (next, events) = await feed.ReadAsync(mailbox, cursor, ct);
        if (events.Count > 0) events.Add(await feed.CountsAsync(mailbox, next, ct));
        return (next, events);
    }

    private static EventBatch Batch(long cursor, List<ClientEvent> events, GatewayMetrics metrics)
    {
        metrics.EventsPushed.Add(events.Count);
        return new EventBatch(cursor.ToString(), events);
    }

    private static Task SendAsync(WebSocket socket, EventBatch batch, CancellationToken ct) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(batch, GatewayJson.Default.EventBatch), WebSocketMessageType.Text, true, ct);

    /// <summary>Reads (and ignores) what the client sends, so its close handshake is seen.</summary>
    private static async Task ReceiveUntilClosedAsync(WebSocket socket, CancellationTokenSource closed)
    {
        var buffer = new byte[1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, closed.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        await closed.CancelAsync();
    }

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string reason)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(status, reason, CancellationToken.None);
        }
        catch (WebSocketException)
        {
        }
    }
}
