using System.Security.Cryptography;
using System.Text;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Mime;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace MailActors.Smtp;

/// <summary>
/// The submission half of <see cref="SmtpSession"/> (RFC 6409), for mail clients: AUTH PLAIN and
/// LOGIN (RFC 4954) only over TLS and throttled; the envelope sender and every From/Sender
/// header address must be the authenticated user; recipients may be anywhere; a missing
/// Message-ID or Date is added; the message then goes to the <see cref="ISubmissionHandler"/>.
/// The body is received exactly as on the MX (decoder, limits, smuggling checks).
/// </summary>
internal sealed partial class SmtpSession
{
    /// <summary>A handler that never answers must not hold the client forever.</summary>
    private static readonly TimeSpan SubmitTimeout = TimeSpan.FromMinutes(5);

    private enum SaslStatus { Ok, Cancelled, Malformed, TooLong, Closed, Timeout }

    private MailboxId? _user;

    private async Task<bool> AuthAsync(string args, SubmissionContext context, CancellationToken ct)
    {
        if (!connection.IsTls) return Error("530 5.7.0 Must issue a STARTTLS command first");
        if (!_esmtp) return Error("503 5.5.1 Error: send EHLO first");
        if (_user is not null) return Error("503 5.5.1 Error: already authenticated"); // MAIL needs AUTH, so this also keeps AUTH out of a transaction (RFC 4954)
        var parts = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2) return Error("501 5.5.4 Syntax: AUTH mechanism [initial-response]");
        var mechanism = parts[0].ToUpperInvariant();
        if (mechanism is not ("PLAIN" or "LOGIN")) return Error("504 5.5.4 Unrecognized authentication type");
        var ip = connection.RemoteAddress;
        if (context.Throttle.IsBlocked(ip, null)) return TooManyFailures(null);

        var initial = parts.Length == 2 ? Decode(parts[1]) : ((SaslStatus, string?)?)null;
        string user, password, authorizationId = "";
        if (mechanism == "PLAIN")
        {
            var (status, response) = initial ?? await ResponseAsync("", ct);
            if (status != SaslStatus.Ok) return SaslFailed(status);
            if (!Sasl.TryParsePlain(response!, out authorizationId, out user, out password)) return Error("501 5.5.2 Cannot decode response");
        }
        else
        {
            // LOGIN: the initial response, when a client sends one, is the user name.
            var (status, response) = initial ?? await ResponseAsync("VXNlcm5hbWU6", ct); // "Username:"
            if (status != SaslStatus.Ok) return SaslFailed(status);
            user = response!;
            (status, response) = await ResponseAsync("UGFzc3dvcmQ6", ct); // "Password:"
            if (status != SaslStatus.Ok) return SaslFailed(status);
            password = response!;
        }
        if (context.Throttle.IsBlocked(ip, user)) return TooManyFailures(user);

        AccountInfo? account;
        try
        {
            account = await mailboxes.AuthenticateAsync(user, password, ct);
        }
        catch (MailboxException e)
        {
            log.LogWarning("smtp {Id} AUTH lookup for {User} failed: {Message}", _id, Printable(user), e.Message);
            return Error("454 4.7.0 Temporary authentication failure, try again later");
        }
        // PLAIN may name an identity to act as (authzid): only one's own is allowed.
        if (account is null || (authorizationId.Length > 0 && !IsMailbox(authorizationId, account.Mailbox)))
        {
            context.Throttle.RecordFailure(ip, user);
            log.LogWarning("smtp {Id} AUTH {Mechanism} failed for {User} from {Address}", _id, mechanism, Printable(user), ip);
            return Error("535 5.7.8 Authentication credentials invalid"); // the same for unknown users
        }
        _user = account.Mailbox;
        log.LogInformation("smtp {Id} authenticated {User} from {Address}", _id, account.Mailbox, ip);
        Reply("235 2.7.0 Authentication successful");
        return true;
    }

    /// <summary>Sends a 334 challenge and reads the client's base64 answer.</summary>
    private async Task<(SaslStatus Status, string? Text)> ResponseAsync(string challenge, CancellationToken ct)
    {
        Reply("334 " + challenge);
        await FlushAsync(ct);
        var (status, line) = await ReadLineAsync(options.CommandTimeout, ct);
        return status switch
        {
            LineStatus.Closed => (SaslStatus.Closed, null),
            LineStatus.Timeout => (SaslStatus.Timeout, null),
            LineStatus.TooLong => (SaslStatus.TooLong, null),
            _ when line == "*" => (SaslStatus.Cancelled, null),
            _ => Decode(line!),
        };
    }

    private static (SaslStatus, string?) Decode(string base64) =>
        Sasl.TryDecode(base64.Trim(), out var text) ? (SaslStatus.Ok, text) : (SaslStatus.Malformed, null);

    /// <summary>The reply for an exchange that ended without credentials; false ends the session.</summary>
    private bool SaslFailed(SaslStatus status)
    {
        switch (status)
        {
            case SaslStatus.Cancelled:
                return Error("501 5.0.0 Authentication cancelled");
            case SaslStatus.Malformed:
                return Error("501 5.5.2 Cannot decode response");
            case SaslStatus.TooLong:
                return Error("500 5.5.6 Authentication exchange line is too long");
            case SaslStatus.Timeout:
                Reply($"421 4.4.2 {options.Hostname} Error: timeout exceeded");
                return false;
            default:
                return false; // closed
        }
    }

    private bool TooManyFailures(string? user)
    {
        log.LogWarning("smtp {Id} AUTH refused for {User} from {Address}: too many failed attempts", _id, Printable(user ?? "(any)"), connection.RemoteAddress);
        Reply("454 4.7.0 Too many failed attempts, try later");
        return false;
    }

    /// <summary>A client-supplied name made safe for a log line (decoded SASL may hold CR, LF, anything).</summary>
    private static string Printable(string s) => Truncate(new string(s.Where(c => !char.IsControl(c)).ToArray()), 100);

    private bool OwnedByUser(string address) => _user is { } user && IsMailbox(address, user);

    private static bool IsMailbox(string address, MailboxId mailbox) =>
        MailboxId.TryParse(address, out var id, out _) && id == mailbox;

    /// <summary>Authenticated relay: any domain; the address keeps its spelling (remote local parts may be case-sensitive).</summary>
    private bool SubmissionRecipient(string address)
    {
        if (!_recipients.Contains(address, StringComparer.OrdinalIgnoreCase)) _recipients.Add(address);
        Reply("250 2.1.5 Ok");
        return true;
    }

    /// <summary>After the end of data: check the headers, complete them if needed, hand the message to the handler.</summary>
    private async Task<(bool Accepted, string Reply)> SubmitAsync(
        IncomingMessage message, string sender, List<string> recipients, byte[] trace, SubmissionContext context, CancellationToken ct)
    {
        var user = _user!.Value;
        try
        {
            BlobWriteResult stored;
            try
            {
                (stored, _) = await message.CompleteAsync();
                await message.DisposeAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "smtp {Id} storing a message from <{Sender}> failed", _id, sender);
                await message.AbortAsync();
                return (false, "451 4.3.0 Error: queue file write error, try again later");
            }

            Submission submission;
            try
            {
                var (refusal, prepared) = await PrepareAsync(message.SpoolPath, stored, trace, user, ct);
                if (refusal is not null)
                {
                    log.LogWarning("smtp {Id} message of {User} from {Address} refused: {Reply}", _id, user, connection.RemoteAddress, refusal);
                    return (false, refusal);
                }
                submission = new Submission(user, sender, recipients, prepared!.Id, prepared.Size, prepared.Metadata, prepared.BodyText);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                log.LogError(e, "smtp {Id} preparing a message from <{Sender}> failed", _id, sender);
                return (false, "451 4.3.0 Error: message could not be processed, try again later");
            }

            try
            {
                var outcome = await context.Handler.SubmitAsync(submission, ct).WaitAsync(SubmitTimeout, ct);
                return (outcome.Accepted, outcome.Reply);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                log.LogError(e, "smtp {Id} submission of {Blob} from <{Sender}> failed", _id, submission.Blob, sender);
                return (false, "451 4.3.0 Error: submission failed, try again later");
            }
        }
        finally
        {
            IncomingMessage.TryDeleteSpool(message.SpoolPath);
        }
    }

    private sealed record Prepared(BlobId Id, long Size, MessageMetadata Metadata, string BodyText);

    /// <summary>
    /// Parses the spool file; refuses a From/Sender that isn't the user; adds Message-ID and Date
    /// when missing (RFC 6409 sections 8.2, 8.3), which means a new blob: trace headers, the added
    /// headers, then the original bytes, streamed (never re-serialized by MimeKit, so what the
    /// client sent stays byte for byte).
    /// </summary>
    private async Task<(string? Refusal, Prepared? Prepared)> PrepareAsync(string spoolPath, BlobWriteResult stored, byte[] trace, MailboxId user, CancellationToken ct)
    {
        await using var spool = OpenSpool(spoolPath);
        MimeMessage parsed;
        try
        {
            parsed = await MimeMessage.LoadAsync(ParserOptions.Default, spool, persistent: true, ct);
        }
        catch (FormatException)
        {
            return ("554 5.6.0 Message refused: the header could not be parsed", null);
        }
        if (HeaderRefusal(parsed, user) is { } refusal) return (refusal, null);

        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var added = new StringBuilder();
        string? messageId = null;
        if (!parsed.Headers.Contains(HeaderId.MessageId))
        {
            messageId = $"<{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}@{user.Domain}>";
            added.Append($"Message-ID: {messageId}\r\n");
        }
        var addDate = !parsed.Headers.Contains(HeaderId.Date);
        if (addDate) added.Append($"Date: {RfcDate(now)}\r\n");

        var blob = stored;
        if (added.Length > 0)
        {
            await using var original = OpenSpool(spoolPath);
            await using var content = new PrefixedStream([.. trace, .. Encoding.ASCII.GetBytes(added.ToString())], original);
            blob = await blobs.PutAsync(content, ct);
        }
        var metadata = MessageParser.FromMime(parsed, blob.Id, blob.Size);
        metadata = metadata with
        {
            Date = addDate ? now : metadata.Date,
            MessageIdHeader = messageId ?? metadata.MessageIdHeader,
        };
        // Read while the spool is open (persistent parse); the added headers don't change the body.
        return (null, new Prepared(blob.Id, blob.Size, metadata, MessageParser.BodyText(parsed)));
    }

    private static FileStream OpenSpool(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous);

    /// <summary>Every From and Sender mailbox must be the user (display names are the user's business); a From is required.</summary>
    private static string? HeaderRefusal(MimeMessage message, MailboxId user)
    {
        var hasFrom = false;
        foreach (var header in message.Headers)
        {
            if (header.Id is not (HeaderId.From or HeaderId.Sender)) continue;
            var notOwned = $"553 5.7.1 {(header.Id == HeaderId.From ? "From" : "Sender")} header address not owned by user";
            if (!InternetAddressList.TryParse(ParserOptions.Default, header.RawValue, out var addresses)) return notOwned;
            foreach (var mailbox in addresses.Mailboxes)
            {
                if (!IsMailbox(mailbox.Address, user)) return notOwned;
                hasFrom |= header.Id == HeaderId.From;
            }
        }
        return hasFrom ? null : "554 5.6.0 Message refused: no From header (RFC 5322 section 3.6)";
    }

    /// <summary>A read-only stream of some bytes followed by another stream (which it does not own).</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream rest) : Stream
    {
        private int _offset;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_offset < prefix.Length) return TakePrefix(buffer);
            return rest.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _offset < prefix.Length ? ValueTask.FromResult(TakePrefix(buffer.Span)) : rest.ReadAsync(buffer, cancellationToken);

        private int TakePrefix(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _offset);
            prefix.AsSpan(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
