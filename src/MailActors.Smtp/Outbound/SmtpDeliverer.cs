using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace MailActors.Smtp.Outbound;

/// <summary>
/// Sends one message to one domain's mail exchangers (or the smart host) and reports every recipient's
/// outcome. Connections are kept per host for the next message. Thread-safe: call concurrently.
/// </summary>
public sealed class SmtpDeliverer : IAsyncDisposable
{
    private readonly EgressOptions _options;
    private readonly SmtpConnectionPool _pool;

    public SmtpDeliverer(EgressOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.HeloName);
        _options = options;
        _pool = new SmtpConnectionPool(options.MaxConnectionsPerHost, options.IdleConnectionLifetime);
    }

    /// <summary>
    /// Tries <paramref name="targets"/> in order until one takes the transaction: a refused or failed
    /// connection, or a greeting/EHLO that is not 2xx, moves on to the next. <paramref name="openMessage"/>
    /// is opened at most once, when a server is ready, and disposed before returning.
    /// </summary>
    public async Task<DeliveryAttempt> DeliverAsync(IReadOnlyList<MxTarget> targets, OutboundEnvelope envelope, Func<Stream> openMessage, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(openMessage);
        if (envelope.Recipients.Count == 0) throw new ArgumentException("the envelope has no recipients", nameof(envelope));

        IReadOnlyList<MxTarget> hops = targets;
        var port = _options.Port;
        if (_options.SmartHost is { } relay)
        {
            hops = [new MxTarget(relay.Host, 0, [])];
            port = relay.Port;
        }
        var lastReason = "4.4.4 no mail exchanger to try";
        Stream? stream = null;
        try
        {
            foreach (var target in hops)
            {
                SmtpConnectionPool.Lease lease;
                try
                {
                    lease = await _pool.AcquireAsync($"{target.Host}:{port}", token => ConnectAsync(target, port, token), ct);
                }
                catch (ConnectFailedException e)
                {
                    lastReason = e.Message;
                    continue;
                }
                await using (lease)
                {
                    stream ??= openMessage();
                    var results = await SendAsync(lease.Client, target.Host, stream, envelope, ct);
                    return new DeliveryAttempt(results, target.Host);
                }
            }
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync();
        }
        return new DeliveryAttempt(envelope.Recipients.Select(r => new RecipientResult(r, RecipientOutcome.TemporaryFailure, lastReason)).ToList(), null);
    }

    /// <summary>One transaction on a ready connection; never throws for what the server or the network did.</summary>
    private static async Task<IReadOnlyList<RecipientResult>> SendAsync(EgressSmtpClient client, string host, Stream stream, OutboundEnvelope envelope, CancellationToken ct)
    {
        // MailKit sends MimeMessages only (no raw stream API in 4.18). A seekable stream is parsed in place
        // (persistent), so the body is read from it again while sending instead of being buffered.
        var message = await MimeMessage.LoadAsync(stream, persistent: stream.CanSeek, ct);
        var sender = new MailboxAddress(string.Empty, envelope.Sender);
        var recipients = envelope.Recipients.Select(r => new MailboxAddress(string.Empty, r)).ToList();

        client.BeginTransaction();
        string? dataReply = null; // text of the final 250 after the message
        SmtpCommandException? dataRefusal = null;
        string? lost = null;
        try
        {
            // The envelope is explicit: nothing comes from the headers. MailKit pipelines when offered, uses SMTPUTF8
            // for international addresses, and sends 8-bit bodies with BODY=8BITMIME or, to a server without it,
            // re-encodes them as 7-bit (except DKIM-signed messages, whose signature that would break).
            dataReply = await client.SendAsync(FormatOptions.Default, message, sender, recipients, ct);
        }
        catch (SmtpCommandException e)
        {
            dataRefusal = e; // MAIL refused or no recipient accepted (both recorded already), or DATA / end of data refused
        }
        catch (ServiceNotAuthenticatedException e)
        {
            lost = $"4.7.0 {host} requires authentication: {Flat(e.Message)}";
        }
        catch (Exception e) when (e is IOException or SocketException or SmtpProtocolException or ServiceNotConnectedException)
        {
            lost = $"4.4.2 lost connection with {host}: {Flat(e.Message)}";
        }

        var results = new List<RecipientResult>(recipients.Count);
        for (var i = 0; i < recipients.Count; i++)
        {
            var recipient = envelope.Recipients[i];
            if (client.SenderRefusal is { } mail) results.Add(FromReply(recipient, mail.StatusCode, mail.Response));
            else if (client.RefusalOf(recipients[i]) is { } rcpt) results.Add(FromReply(recipient, rcpt.StatusCode, rcpt.Response));
            else if (dataReply is not null) results.Add(new RecipientResult(recipient, RecipientOutcome.Delivered, Reply(SmtpStatusCode.Ok, dataReply)));
            else if (dataRefusal is not null) results.Add(FromReply(recipient, dataRefusal.StatusCode, dataRefusal.Message));
            else results.Add(new RecipientResult(recipient, RecipientOutcome.TemporaryFailure, lost ?? "4.4.2 transaction ended without a reply"));
        }
        return results;
    }

    private static RecipientResult FromReply(string recipient, SmtpStatusCode code, string text) =>
        new(recipient, (int)code >= 500 ? RecipientOutcome.PermanentFailure : RecipientOutcome.TemporaryFailure, Reply(code, text));

    /// <summary>"550 5.1.1 text": MailKit keeps the code apart and joins multi-line replies with newlines.</summary>
    private static string Reply(SmtpStatusCode code, string text) =>
        $"{((int)code).ToString(CultureInfo.InvariantCulture)} {Flat(text)}";

    /// <summary>A ready client for <paramref name="target"/>: each address in turn until one greets, says EHLO (and AUTH) fine.</summary>
    private async Task<EgressSmtpClient> ConnectAsync(MxTarget target, int port, CancellationToken ct)
    {
        var addresses = target.Addresses;
        if (addresses.Count == 0)
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(target.Host, ct); // a smart host given by name
            }
            catch (SocketException e)
            {
                throw new ConnectFailedException($"4.4.3 cannot resolve {target.Host}: {e.Message}");
            }
        }
        var reason = $"4.4.3 {target.Host} has no address";
        foreach (var address in addresses)
        {
            var endpoint = new IPEndPoint(address, port);
            try
            {
                return await ConnectAsync(target.Host, endpoint, _options.RequireTls ? SecureSocketOptions.StartTls : SecureSocketOptions.StartTlsWhenAvailable, ct);
            }
            catch (SslHandshakeException) when (!_options.RequireTls)
            {
                // Opportunistic TLS (RFC 7435): a failed handshake is no reason not to deliver; plaintext it is.
                try
                {
                    return await ConnectAsync(target.Host, endpoint, SecureSocketOptions.None, ct);
                }
                catch (Exception e) when (IsConnectFailure(e))
                {
                    reason = Describe(e, target.Host, endpoint);
                }
            }
            catch (Exception e) when (IsConnectFailure(e))
            {
                reason = Describe(e, target.Host, endpoint);
            }
        }
        throw new ConnectFailedException(reason);
    }

    private async Task<EgressSmtpClient> ConnectAsync(string host, IPEndPoint endpoint, SecureSocketOptions tls, CancellationToken ct)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var client = new EgressSmtpClient
        {
            LocalDomain = _options.HeloName,
            Timeout = (int)Math.Min(int.MaxValue, _options.CommandTimeout.TotalMilliseconds),
        };
        if (!_options.RequireTls)
        {
            // MX TLS without DANE or MTA-STS is opportunistic: there is no name to hold the certificate to, so any
            // certificate is taken (it still encrypts against passive eavesdropping). RequireTls validates it.
            client.ServerCertificateValidationCallback = (_, _, _, _) => true;
            client.CheckCertificateRevocation = false;
        }
        try
        {
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                connectTimeout.CancelAfter(_options.ConnectTimeout);
                try
                {
                    await socket.ConnectAsync(endpoint, connectTimeout.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"no connection within {_options.ConnectTimeout.TotalSeconds:0.#} s");
                }
            }
            // Greeting, EHLO and STARTTLS; their replies are bounded by CommandTimeout (client.Timeout).
            await client.ConnectAsync(socket, host, endpoint.Port, tls, ct);
            if (_options.SmartHost is { User: { } user } relay)
                await client.AuthenticateAsync(new NetworkCredential(user, relay.Password), ct);
            return client;
        }
        catch
        {
            client.Dispose();
            socket.Dispose();
            throw;
        }
    }

    private static bool IsConnectFailure(Exception e) =>
        e is SocketException or IOException or TimeoutException or SslHandshakeException or ProtocolException
            or CommandException or AuthenticationException or NotSupportedException;

    private static string Describe(Exception e, string host, IPEndPoint endpoint)
    {
        var peer = $"{host}[{endpoint.Address}]:{endpoint.Port}";
        return e switch
        {
            SmtpCommandException c => $"{Reply(c.StatusCode, c.Message)} (from {peer})",
            AuthenticationException => $"4.7.8 authentication to {peer} failed: {Flat(e.Message)}",
            NotSupportedException => $"4.7.4 {peer}: {Flat(e.Message)}", // STARTTLS required but not offered, or no AUTH
            // MailKit's own message is paragraphs of advice; the inner exception says what went wrong.
            SslHandshakeException => $"4.7.5 TLS with {peer} failed: {Flat(e.InnerException?.Message ?? e.Message)}",
            _ => $"4.4.1 connect to {peer}: {Flat(e.Message)}",
        };
    }

    private static string Flat(string text) => text.ReplaceLineEndings(" ").Trim();

    public ValueTask DisposeAsync() => _pool.DisposeAsync();

    /// <summary>A target could not be used; the message is the reason given to every recipient if no target works.</summary>
    private sealed class ConnectFailedException(string reason) : Exception(reason);
}
