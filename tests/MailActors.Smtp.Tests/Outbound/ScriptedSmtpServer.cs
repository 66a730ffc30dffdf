using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MailActors.Smtp.Tests.Outbound;

/// <summary>
/// A tiny SMTP server for what smtp-sink cannot do: AUTH PLAIN that really succeeds (smtp-sink answers 250,
/// which no client takes as success) and a different RCPT reply per recipient.
/// </summary>
internal sealed class ScriptedSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, string?> _rcptReply;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <param name="rcptReply">Reply to "RCPT TO:&lt;address&gt;" by address; null = "250 2.1.5 Ok".</param>
    public ScriptedSmtpServer(Func<string, string?>? rcptReply = null)
    {
        _rcptReply = rcptReply ?? (_ => null);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    /// <summary>"user:password" of every successful AUTH PLAIN.</summary>
    public ConcurrentQueue<string> Logins { get; } = new();
    /// <summary>Each accepted message: the recipients the server accepted and the data as received (dot-unstuffed).</summary>
    public ConcurrentQueue<(IReadOnlyList<string> Recipients, string Data)> Messages { get; } = new();

    private async Task AcceptAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true) sessions.Add(ServeAsync(await _listener.AcceptTcpClientAsync(_stop.Token)));
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(sessions);
    }

    private async Task ServeAsync(TcpClient connection)
    {
        using var _ = connection;
        var stream = connection.GetStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var ct = _stop.Token;
        async Task Say(string reply) => await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\r\n"), ct);
        var recipients = new List<string>();
        try
        {
            await Say("220 scripted.test ESMTP");
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await Say("250-scripted.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 ENHANCEDSTATUSCODES");
                        break;
                    case "AUTH":
                        var parts = line.Split(' ');
                        var response = parts.Length > 2 ? parts[2] : await ReadAuthResponseAsync(reader, Say, ct);
                        var fields = Encoding.UTF8.GetString(Convert.FromBase64String(response)).Split('\0');
                        Logins.Enqueue($"{fields[1]}:{fields[2]}");
                        await Say("235 2.7.0 Authentication successful");
                        break;
                    case "MAIL":
                        recipients.Clear();
                        await Say("250 2.1.0 Ok");
                        break;
                    case "RCPT":
                        var address = line[(line.IndexOf('<') + 1)..line.LastIndexOf('>')];
                        var reply = _rcptReply(address) ?? "250 2.1.5 Ok";
                        if (reply.StartsWith('2')) recipients.Add(address);
                        await Say(reply);
                        break;
                    case "DATA":
                        await Say("354 End data with <CR><LF>.<CR><LF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(ct) is { } dataLine && dataLine != ".")
                            data.Append(dataLine.StartsWith('.') ? dataLine[1..] : dataLine).Append("\r\n");
                        Messages.Enqueue((recipients.ToList(), data.ToString()));
                        await Say($"250 2.0.0 Ok: queued as {Messages.Count}");
                        break;
                    case "RSET" or "NOOP":
                        await Say("250 2.0.0 Ok");
                        break;
                    case "QUIT":
                        await Say("221 2.0.0 Bye");
                        return;
                    default:
                        await Say("502 5.5.2 Error: command not recognized");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // client went away or the server is stopping
        }
    }

    private static async Task<string> ReadAuthResponseAsync(StreamReader reader, Func<string, Task> say, CancellationToken ct)
    {
        await say("334 ");
        return await reader.ReadLineAsync(ct) ?? "";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
