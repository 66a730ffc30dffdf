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

    private static async Task<IResult> Events(HttpContext http, EventHub hub, ChangeFeed feed, SessionAuthenticator sessions,
        GatewayMetrics metrics, ILoggerFactory logs, CancellationToken ct, string? after = null, int? wait = null)
    {
        var mailbox = http.User.Mailbox();
        long? start = null;
        if (!string.IsNullOrEmpty(after))
        {
            if (!long.TryParse(after, out var parsed) || parsed < 0) return Problems.Invalid("after is a cursor from an earlier response");
            // A cursor from the future would hide everything up to it.
            if (parsed > await feed.CurrentCursorAsync(mailbox, ct)) return Problems.Invalid("after is ahead of this mailbox's events; start without it");
            start = parsed;
        }
        metrics.PushConnections.Add(1);
        try
        {
            if (http.WebSockets.IsWebSocketRequest)
            {
                var session = new SessionPrincipal(mailbox, http.User.SessionHash(), DateTimeOffset.MaxValue);
                await PushAsync(http, session, start, hub, feed, sessions, metrics, logs.CreateLogger("MailActors.Gateway.Events"));
                return TypedResults.Empty;
            }
            var seconds = Math.Clamp(wait ?? 30, 0, MaxWaitSeconds);
            return TypedResults.Ok(await LongPollAsync(mailbox, start, TimeSpan.FromSeconds(seconds), hub, feed, metrics, ct));
        }
        catch (TooManyConnectionsException e)
        {
            return Problems.Result(429, "too-many-connections", "Too many realtime connections", e.Message);
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

    private static async Task PushAsync(HttpContext http, SessionPrincipal session, long? after, EventHub hub, ChangeFeed feed,
        SessionAuthenticator sessions, GatewayMetrics metrics, ILogger log)
    {
        // Subscribe before accepting: a refused subscription is still a plain 429 answer.
        using var subscription = await hub.SubscribeAsync(session.Mailbox, http.RequestAborted);
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var receiving = ReceiveUntilClosedAsync(socket, clientGone);
        var ct = clientGone.Token;
        var mailbox = session.Mailbox;
        var (closeStatus, closeReason) = (WebSocketCloseStatus.NormalClosure, "bye");
        try
        {
            var cursor = after ?? await feed.CurrentCursorAsync(mailbox, ct);
            // Hello: the client learns its cursor even when nothing has happened yet.
            await SendAsync(socket, new EventBatch(cursor.ToString(), []), ct);
            cursor = await CatchUpAsync(socket, mailbox, cursor, feed, metrics, ct);
            var settleCheck = subscription.UntilSettled > TimeSpan.Zero;
            // Logout, expiry or eviction of the session closes the socket within this interval.
            var recheck = (long)(sessions.CacheFor.TotalSeconds * Stopwatch.Frequency);
            var nextSessionCheck = Stopwatch.GetTimestamp() + recheck;
            while (true)
            {
                // Wake for a change, the one journal re-check once the subscription has spread
                // through the cluster, or the periodic session check — whichever comes first.
                var untilSessionCheck = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextSessionCheck);
                var nap = settleCheck && subscription.UntilSettled < untilSessionCheck ? subscription.UntilSettled : untilSessionCheck;
                using (var timer = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    timer.CancelAfter(nap > TimeSpan.Zero ? nap : TimeSpan.Zero);
                    try
                    {
                        if (!await subscription.Reader.WaitToReadAsync(timer.Token)) break;
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        if (settleCheck && subscription.UntilSettled == TimeSpan.Zero)
                        {
                            settleCheck = false;
                            cursor = await CatchUpAsync(socket, mailbox, cursor, feed, metrics, ct);
                        }
                        if (Stopwatch.GetTimestamp() >= nextSessionCheck)
                        {
                            if (await sessions.ValidateAsync(mailbox, session.SessionHash, ct) is null)
                            {
                                (closeStatus, closeReason) = (WebSocketCloseStatus.PolicyViolation, "the session ended; log in again");
                                break;
                            }
                            nextSessionCheck = Stopwatch.GetTimestamp() + recheck;
                        }
                        continue;
                    }
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
            (closeStatus, closeReason) = ((WebSocketCloseStatus)1013, "fell behind; reconnect with after=<last cursor>"); // 1013: try again later
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The client went away or closed.
        }
        catch (Exception e)
        {
            log.LogError(e, "realtime push for {Mailbox} failed", mailbox);
            (closeStatus, closeReason) = (WebSocketCloseStatus.InternalServerError, "server error; reconnect with after=<last cursor>");
        }
        // Close first, then let the receive loop see the client's close (cancelling a pending
        // receive would abort the socket before the close frame goes out). Only this method sends.
        await CloseAsync(socket, closeStatus, closeReason);
        await receiving.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        await clientGone.CancelAsync();
        await receiving;
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

    /// <summary>Reads (and ignores) what the client sends, so its close handshake is seen; cancels <paramref name="closed"/> when it ends.</summary>
    private static async Task ReceiveUntilClosedAsync(WebSocket socket, CancellationTokenSource closed)
    {
        var buffer = new byte[1024];
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
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
