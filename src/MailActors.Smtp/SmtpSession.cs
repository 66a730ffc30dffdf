using System.Buffers;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Net;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.Logging;

namespace MailActors.Smtp;

/// <summary>
/// One SMTP conversation (RFC 5321): EHLO/HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY,
/// HELP, STARTTLS, with PIPELINING (replies are flushed only when no further command is
/// buffered). Bad input gets a reply and a log line; limits end with 421.
/// As an MX (<paramref name="pipeline"/> set) it takes mail for local mailboxes and delivers it
/// through the ingress pipeline; in submission mode (<paramref name="submission"/> set, see
/// SubmissionSession.cs) it serves authenticated mail clients.
/// </summary>
internal sealed partial class SmtpSession(
    Connection connection,
    SmtpServerOptions options,
    X509Certificate2 certificate,
    MailboxClient mailboxes,
    IBlobStore blobs,
    IngressPipeline? pipeline,
    string spoolDirectory,
    ILogger log,
    SubmissionContext? submission = null)
{
    private enum LineStatus { Ok, TooLong, Closed, Timeout }

    private readonly string _id = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..5]);
    private string? _helo;
    private bool _esmtp;
    private string? _mailFrom; // null = no transaction; "" = the null sender <>
    private bool _smtpUtf8;
    private long _declaredSize;
    private readonly List<string> _recipients = [];
    private int _errors;
    private int _commandsWithoutMail;
    private int _transactions;
    private IncomingMessage? _chunked;
    private DataDecoder? _chunkDecoder;
    private byte[] _trace = []; // the trace headers in front of the current message's blob

    private string Peer => connection.RemoteEndPoint.ToString();

    public async Task RunAsync(CancellationToken ct)
    {
        log.LogDebug("smtp {Id} connect from {Peer}", _id, Peer);
        try
        {
            Reply($"220 {options.Hostname} ESMTP MailActors ready");
            await FlushAsync(ct);
            while (true)
            {
                var (status, line) = await ReadLineAsync(options.CommandTimeout, ct);
                if (status == LineStatus.Closed) return;
                if (status == LineStatus.Timeout)
                {
                    Reply($"421 4.4.2 {options.Hostname} Error: timeout exceeded");
                    await FlushAsync(ct);
                    log.LogInformation("smtp {Id} timeout", _id);
                    return;
                }
                var keepGoing = status == LineStatus.TooLong
                    ? Error("500 5.5.2 Error: line too long")
                    : await DispatchAsync(line!, ct);
                if (!keepGoing || _errors >= options.MaxErrors || _commandsWithoutMail > options.MaxCommandsWithoutMail)
                {
                    if (keepGoing)
                    {
                        Reply(_errors >= options.MaxErrors
                            ? $"421 4.7.0 {options.Hostname} Error: too many errors"
                            : $"421 4.7.0 {options.Hostname} Error: too many commands without mail");
                        log.LogWarning("smtp {Id} from {Peer} closed: {Reason}", _id, Peer, _errors >= options.MaxErrors ? "too many errors" : "too many commands");
                    }
                    await FlushAsync(ct);
                    return;
                }
                if (!HasBufferedLine()) await FlushAsync(ct);
            }
        }
        finally
        {
            if (_chunked is not null) await _chunked.AbortAsync();
            log.LogDebug("smtp {Id} disconnect ({Transactions} messages)", _id, _transactions);
        }
    }

    private async Task<bool> DispatchAsync(string line, CancellationToken ct)
    {
        var space = line.IndexOf(' ');
        var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
        var args = space < 0 ? "" : line[(space + 1)..].Trim();
        if (verb is not ("MAIL" or "RCPT" or "DATA" or "BDAT" or "QUIT")) _commandsWithoutMail++;
        if (_chunked is not null && verb is not ("BDAT" or "RSET" or "QUIT" or "NOOP"))
            return Error("503 5.5.1 Error: BDAT transfer in progress, send BDAT, RSET or QUIT");
        switch (verb)
        {
            case "EHLO":
            case "HELO":
                return Hello(verb, args);
            case "MAIL":
                return Mail(args);
            case "RCPT":
                return await RecipientAsync(args, ct);
            case "DATA":
                return await DataAsync(args, ct);
            case "BDAT":
                return await ChunkAsync(args, ct);
            case "RSET":
                await ResetAsync();
                Reply("250 2.0.0 Ok");
                return true;
            case "NOOP":
                Reply("250 2.0.0 Ok");
                return true;
            case "QUIT":
                Reply($"221 2.0.0 {options.Hostname} closing connection");
                return false;
            case "VRFY":
                Reply("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
                return true;
            case "HELP":
                Reply($"214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS{(submission is null ? "" : " AUTH")}; see RFC 5321");
                return true;
            case "STARTTLS":
                return await StartTlsAsync(args, ct);
            case "AUTH" when submission is not null:
                return await AuthAsync(args, submission, ct);
            case "AUTH":
                return Error("503 5.5.1 Error: authentication is not offered on this port, use submission");
            default:
                log.LogInformation("smtp {Id} unknown command {Verb}", _id, Truncate(verb, 32));
                return Error("500 5.5.2 Error: command not recognized");
        }
    }

    private bool Hello(string verb, string args)
    {
        if (args.Length == 0 || args.Length > 255 || args.Contains(' ') || args.Any(char.IsControl))
            return Error($"501 5.5.4 Syntax: {verb} hostname");
        ResetTransaction();
        _helo = args;
        _esmtp = verb == "EHLO";
        if (!_esmtp)
        {
            Reply($"250 {options.Hostname}");
            return true;
        }
        var lines = new List<string>
        {
            $"{options.Hostname} Hello {args} [{connection.RemoteAddress}]",
            "PIPELINING",
            $"SIZE {options.MaxMessageSize}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
        };
        // Passwords only ever cross TLS: before it, AUTH is not even offered.
        if (submission is not null && connection.IsTls) lines.Add("AUTH PLAIN LOGIN");
        if (!connection.IsTls) lines.Add("STARTTLS");
        lines.Add("CHUNKING");
        lines.Add("HELP");
        for (var i = 0; i < lines.Count; i++) Reply($"250{(i < lines.Count - 1 ? '-' : ' ')}{lines[i]}");
        return true;
    }

    private bool Mail(string args)
    {
        if (_helo is null) return Error("503 5.5.1 Error: send HELO/EHLO first");
        if (_mailFrom is not null) return Error("503 5.5.1 Error: nested MAIL command");
        if (submission is not null && _user is null) return Error("530 5.7.0 Authentication required");
        if (!TryParsePath(args, "FROM:", out var address, out var parameters)) return Error("501 5.5.4 Syntax: MAIL FROM:<address>");
        if (address.Length > 0 && !IsValidAddress(address)) return Error("501 5.1.7 Bad sender address syntax");
        long size = 0;
        var utf8 = false;
        foreach (var p in parameters)
        {
            if (!_esmtp) return Error("555 5.5.4 Error: parameters need EHLO");
            var eq = p.IndexOf('=');
            var key = (eq < 0 ? p : p[..eq]).ToUpperInvariant();
            var value = eq < 0 ? null : p[(eq + 1)..];
            switch (key)
            {
                case "SIZE" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var declared):
                    if (declared > options.MaxMessageSize) return Error($"552 5.3.4 Message size exceeds fixed limit of {options.MaxMessageSize} bytes");
                    size = declared;
                    break;
                case "BODY" when value is not null && (value.Equals("7BIT", StringComparison.OrdinalIgnoreCase) || value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase)):
                    break;
                case "SMTPUTF8" when value is null:
                    utf8 = true;
                    break;
                case "AUTH" when submission is not null && value is not null:
                    break; // RFC 4954 section 5: accepted; the authenticated user is what counts
                default:
                    return Error($"555 5.5.4 Unsupported option: {Truncate(p, 40)}");
            }
        }
        if (!utf8 && !Ascii(address)) return Error("553 5.6.7 Non-ASCII sender address needs SMTPUTF8");
        if (submission is not null && !OwnedByUser(address))
        {
            log.LogInformation("smtp {Id} user {User} from {Peer} refused as sender <{Sender}>", _id, _user, Peer, Truncate(address, 100));
            return Error($"553 5.7.1 Sender address rejected: not owned by user {_user}");
        }
        _mailFrom = address;
        _smtpUtf8 = utf8;
        _declaredSize = size;
        _recipients.Clear();
        Reply("250 2.1.0 Ok");
        return true;
    }

    private async Task<bool> RecipientAsync(string args, CancellationToken ct)
    {
        if (_mailFrom is null) return Error("503 5.5.1 Error: need MAIL command");
        if (!TryParsePath(args, "TO:", out var address, out var parameters)) return Error("501 5.5.4 Syntax: RCPT TO:<address>");
        if (parameters.Count > 0) return Error($"555 5.5.4 Unsupported option: {Truncate(parameters[0], 40)}");
        if (address.Equals("postmaster", StringComparison.OrdinalIgnoreCase)) address = "postmaster@" + options.LocalDomains[0];
        if (!_smtpUtf8 && !Ascii(address)) return Error("553 5.6.7 Non-ASCII recipient address needs SMTPUTF8");
        if (!IsValidAddress(address) || !MailboxId.TryParse(address, out var mailbox, out _)) return Error("501 5.1.3 Bad recipient address syntax");
        if (_recipients.Count >= options.MaxRecipients) return Error("452 4.5.3 Error: too many recipients");
        if (submission is not null) return SubmissionRecipient(address);
        if (!options.IsLocalDomain(mailbox.Domain))
        {
            log.LogInformation("smtp {Id} relay attempt from {Peer} to {Rcpt}", _id, Peer, Truncate(address, 100));
            return Error($"550 5.7.1 <{address}>: Relay access denied");
        }
        IMailboxReply reply;
        try
        {
            reply = await mailboxes.SendAsync(new GetAccount(mailbox), ct);
        }
        catch (MailboxException e)
        {
            log.LogWarning("smtp {Id} recipient lookup for {Rcpt} failed: {Message}", _id, mailbox, e.Message);
            return Error("451 4.3.0 Temporary recipient lookup failure, try again later");
        }
        switch (reply)
        {
            case AccountInfo account:
                if (_declaredSize > account.QuotaBytes) return Error($"552 5.2.2 <{address}>: Mailbox full");
                if (account.UsedBytes + _declaredSize > account.QuotaBytes) return Error($"452 4.2.2 <{address}>: Mailbox full, try again later");
                if (!_recipients.Contains(mailbox.Value)) _recipients.Add(mailbox.Value);
                Reply("250 2.1.5 Ok");
                return true;
            case MailboxError { Code: MailboxErrorCode.NoSuchMailbox }:
                log.LogInformation("smtp {Id} unknown recipient {Rcpt}", _id, mailbox);
                return Error($"550 5.1.1 <{address}>: Recipient address rejected: User unknown");
            default:
                return Error("451 4.3.0 Temporary recipient lookup failure, try again later");
        }
    }

    private async Task<bool> DataAsync(string args, CancellationToken ct)
    {
        if (args.Length > 0) return Error("501 5.5.4 Syntax: DATA");
        if (_mailFrom is null) return Error("503 5.5.1 Error: need MAIL command");
        if (_recipients.Count == 0) return Error("554 5.5.1 Error: no valid recipients");
        Reply("354 End data with <CR><LF>.<CR><LF>");
        await FlushAsync(ct);

        var message = NewMessage();
        var decoder = new DataDecoder(options.MaxMessageSize, options.MaxDataLineLength, options.MaxHeaderBytes, dotStuffed: true);
        try
        {
            if (!await ReadBodyAsync(decoder, message, long.MaxValue, ct))
            {
                await message.AbortAsync();
                return false; // the client went away mid-message: nothing was acknowledged
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await message.AbortAsync();
            Reply($"421 4.4.2 {options.Hostname} Error: timeout exceeded during message transfer");
            log.LogInformation("smtp {Id} data timeout", _id);
            return false;
        }
        catch (Exception)
        {
            await message.AbortAsync();
            throw;
        }
        return await FinishMessageAsync(message, decoder, ct);
    }

    private async Task<bool> ChunkAsync(string args, CancellationToken ct)
    {
        var parts = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || (parts.Length == 2 && !parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase)))
        {
            // The chunk length is unknown, so the rest of the stream can't be trusted: close.
            Reply("501 5.5.4 Syntax: BDAT size [LAST]");
            log.LogInformation("smtp {Id} malformed BDAT from {Peer}", _id, Peer);
            return false;
        }
        var last = parts.Length == 2;
        string? refusal = !_esmtp ? "503 5.5.1 Error: BDAT needs EHLO"
            : _mailFrom is null ? "503 5.5.1 Error: need MAIL command"
            : _recipients.Count == 0 ? "554 5.5.1 Error: no valid recipients"
            : null;
        if (refusal is not null)
        {
            // RFC 3030: a refused chunk is still read, so the stream stays in step.
            if (!await DiscardAsync(size, ct)) return false;
            return Error(refusal);
        }
        _chunked ??= NewMessage();
        _chunkDecoder ??= new DataDecoder(options.MaxMessageSize, options.MaxDataLineLength, options.MaxHeaderBytes, dotStuffed: false);
        if (!await ReadBodyAsync(_chunkDecoder, _chunked, size, ct)) return false;
        if (!last)
        {
            Reply($"250 2.0.0 {size} octets received");
            return true;
        }
        var (message, decoder) = (_chunked, _chunkDecoder);
        (_chunked, _chunkDecoder) = (null, null);
        return await FinishMessageAsync(message, decoder, ct);
    }

    private IncomingMessage NewMessage()
    {
        _trace = TraceHeaders();
        return new IncomingMessage(blobs, spoolDirectory, _trace);
    }

    private async Task<bool> FinishMessageAsync(IncomingMessage message, DataDecoder decoder, CancellationToken ct)
    {
        var sender = _mailFrom!;
        var recipients = _recipients.ToList();
        var trace = _trace;
        ResetTransaction();
        if (decoder.Rejection is { } rejection)
        {
            await message.AbortAsync();
            log.LogInformation("smtp {Id} message from <{Sender}> refused: {Reply}", _id, sender, rejection);
            return Error(rejection);
        }
        var (accepted, reply) = submission is null
            ? await DeliverAsync(message, sender, recipients, ct)
            : await SubmitAsync(message, sender, recipients, trace, submission, ct);
        log.LogInformation("smtp {Id} from <{Sender}> to {Count} recipient(s): {Reply}", _id, sender, recipients.Count, reply);
        if (accepted)
        {
            _transactions++;
            _commandsWithoutMail = 0;
            Reply(reply);
            return true;
        }
        return Error(reply);
    }

    /// <summary>MX: the stored message goes through the ingress pipeline to the local mailboxes.</summary>
    private async Task<(bool Accepted, string Reply)> DeliverAsync(IncomingMessage message, string sender, List<string> recipients, CancellationToken ct)
    {
        IngressOutcome outcome;
        try
        {
            var (blob, contentHash) = await message.CompleteAsync();
            await message.DisposeAsync();
            outcome = await pipeline!.SubmitAsync(new IngressJob(sender, recipients, blob.Id, blob.Size, contentHash, message.SpoolPath), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "smtp {Id} storing a message from <{Sender}> failed", _id, sender);
            await message.AbortAsync();
            outcome = new IngressOutcome(451, "451 4.3.0 Error: queue file write error, try again later");
        }
        return (outcome.Accepted, outcome.Reply);
    }

    /// <summary>Feeds the body through the decoder into the message: to CRLF.CRLF, or <paramref name="exactBytes"/> for BDAT. False = connection closed.</summary>
    private async Task<bool> ReadBodyAsync(DataDecoder decoder, IncomingMessage message, long exactBytes, CancellationToken ct)
    {
        var input = connection.Input;
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        var remaining = exactBytes;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.DataTimeout);
        while (exactBytes == long.MaxValue ? !decoder.Ended : remaining > 0)
        {
            var result = await input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            if (exactBytes != long.MaxValue && buffer.Length > remaining) buffer = buffer.Slice(0, remaining);
            var consumed = decoder.Decode(buffer, output);
            remaining -= consumed;
            input.AdvanceTo(buffer.GetPosition(consumed), decoder.Ended || exactBytes != long.MaxValue ? buffer.GetPosition(consumed) : result.Buffer.End);
            if (output.WrittenCount > 0)
            {
                await message.WriteAsync(output.WrittenMemory, timeout.Token);
                output.ResetWrittenCount();
            }
            if (result.IsCompleted && consumed == buffer.Length && (exactBytes == long.MaxValue ? !decoder.Ended : remaining > 0))
            {
                log.LogInformation("smtp {Id} connection closed during the message body", _id);
                return false;
            }
        }
        return true;
    }

    private async Task<bool> DiscardAsync(long bytes, CancellationToken ct)
    {
        while (bytes > 0)
        {
            var result = await connection.Input.ReadAsync(ct);
            var take = Math.Min(bytes, result.Buffer.Length);
            connection.Input.AdvanceTo(result.Buffer.GetPosition(take));
            bytes -= take;
            if (result.IsCompleted && bytes > 0) return false;
        }
        return true;
    }

    private async Task<bool> StartTlsAsync(string args, CancellationToken ct)
    {
        if (connection.IsTls) return Error("503 5.5.1 Error: TLS already active");
        if (args.Length > 0) return Error("501 5.5.4 Syntax: STARTTLS");
        Reply("220 2.0.0 Ready to start TLS");
        await FlushAsync(ct);
        try
        {
            await connection.UpgradeToTlsAsync(certificate, TimeSpan.FromSeconds(30), ct);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
        {
            log.LogInformation("smtp {Id} TLS handshake with {Peer} failed: {Message}", _id, Peer, e.Message);
            return false;
        }
        // RFC 3207: forget everything learned before TLS; the client starts over with EHLO.
        _helo = null;
        _esmtp = false;
        _user = null;
        ResetTransaction();
        log.LogInformation("smtp {Id} TLS {Protocol} {Cipher}", _id, connection.TlsProtocol, connection.TlsCipher);
        return true;
    }

    /// <summary>
    /// MX: Return-Path and Received. Submission: only Received, with "A" for authenticated
    /// (ESMTPSA, RFC 3848) and no "for" clause, which could name a Bcc recipient; Return-Path
    /// is the final delivery's to add.
    /// </summary>
    private byte[] TraceHeaders()
    {
        var protocol = (_smtpUtf8 ? "UTF8SMTP" : _esmtp ? "ESMTP" : "SMTP") + (connection.IsTls ? "S" : "") + (submission is null ? "" : "A");
        var helo = new string((_helo ?? "unknown").Where(c => c > ' ' && c < 127).Take(255).ToArray());
        var forClause = _recipients.Count == 1 && submission is null ? $"\r\n\tfor <{_recipients[0]}>" : "";
        var date = RfcDate(DateTimeOffset.UtcNow);
        var text = (submission is null ? $"Return-Path: <{_mailFrom}>\r\n" : "") +
                   $"Received: from {helo} ([{connection.RemoteAddress}])\r\n\tby {options.Hostname} (MailActors) with {protocol} id {_id}.{_transactions}{forClause};\r\n\t{date}\r\n";
        return Encoding.UTF8.GetBytes(text);
    }

    private static string RfcDate(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture);

    private async Task ResetAsync()
    {
        if (_chunked is not null) await _chunked.AbortAsync();
        ResetTransaction();
    }

    private void ResetTransaction()
    {
        _mailFrom = null;
        _recipients.Clear();
        _declaredSize = 0;
        _smtpUtf8 = false;
        _chunked = null;
        _chunkDecoder = null;
    }

    // ---- parsing --------------------------------------------------------------------

    /// <summary>Parses "FROM:&lt;addr&gt; PARAM=…" (a space after the colon is tolerated, as Postfix does).</summary>
    private static bool TryParsePath(string args, string prefix, out string address, out List<string> parameters)
    {
        address = "";
        parameters = [];
        if (!args.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = args[prefix.Length..].TrimStart();
        if (!rest.StartsWith('<'))
        {
            // RCPT TO:postmaster without brackets is common enough to accept; anything else needs <>.
            var bare = rest.Split(' ', 2)[0];
            if (!bare.Equals("postmaster", StringComparison.OrdinalIgnoreCase)) return false;
            address = bare;
            return true;
        }
        var close = rest.IndexOf('>');
        if (close < 0) return false;
        address = rest[1..close];
        // A source route (<@a,@b:user@c>) is obsolete: keep the mailbox only.
        if (address.StartsWith('@') && address.IndexOf(':') is var colon and > 0) address = address[(colon + 1)..];
        parameters = rest[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        return true;
    }

    private static bool IsValidAddress(string address)
    {
        if (address.Length is 0 or > 254) return false;
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1 || at > 64) return false;
        return !address.Any(c => char.IsControl(c) || c is ' ' or '<' or '>' or ',' or ';' or '\\' or '"' or '(' or ')' or '[' or ']');
    }

    private static bool Ascii(string s) => s.All(c => c < 128);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    // ---- I/O ------------------------------------------------------------------------

    private bool Error(string reply)
    {
        _errors++;
        Reply(reply);
        return true;
    }

    private void Reply(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\r\n");
        connection.Output.Write(bytes);
    }

    private async Task FlushAsync(CancellationToken ct) => await connection.Output.FlushAsync(ct);

    /// <summary>Whether the client has pipelined another complete command (then replies wait to be flushed together).</summary>
    private bool HasBufferedLine()
    {
        if (!connection.Input.TryRead(out var result)) return false;
        var has = result.Buffer.PositionOf((byte)'\n') is not null;
        connection.Input.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
        return has;
    }

    private async Task<(LineStatus Status, string? Line)> ReadLineAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var discarding = false;
        while (true)
        {
            System.IO.Pipelines.ReadResult result;
            try
            {
                result = await connection.Input.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return (LineStatus.Timeout, null);
            }
            var buffer = result.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is null)
            {
                if (buffer.Length >= options.MaxCommandLine)
                {
                    discarding = true;
                    connection.Input.AdvanceTo(buffer.End);
                }
                else connection.Input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted) return (LineStatus.Closed, null);
                continue;
            }
            var line = buffer.Slice(0, lf.Value);
            var tooLong = discarding || line.Length + 1 > options.MaxCommandLine;
            // Decode before AdvanceTo: the buffer's memory is the pipe's to reuse after it.
            var text = tooLong ? null : Encoding.UTF8.GetString(line);
            connection.Input.AdvanceTo(buffer.GetPosition(1, lf.Value));
            if (text is null) return (LineStatus.TooLong, null);
            return (LineStatus.Ok, text.EndsWith('\r') ? text[..^1] : text);
        }
    }
}
