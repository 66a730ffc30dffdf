using MimeKit;
using MimeKit.IO;
using MimeKit.Utils;

namespace MailActors.Mime;

/// <param name="Content">Read when the message is built (non-seekable streams) or written (seekable ones); stays the caller's to dispose.</param>
public sealed record ComposeAttachment(string FileName, string ContentType, Stream Content);

/// <param name="To">Addresses as typed: "bob@example.com" or "Bob &lt;bob@example.com&gt;"; blank entries are ignored.</param>
/// <param name="InReplyTo">Message-ID of the message replied to, with or without angle brackets.</param>
public sealed record ComposeRequest(
    string FromAddress,
    string? FromName,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    IReadOnlyList<string> Bcc,
    string Subject,
    string? Text,
    string? Html,
    IReadOnlyList<ComposeAttachment> Attachments,
    string? InReplyTo = null);

public sealed record ComposeLimits
{
    /// <summary>To, Cc and Bcc together.</summary>
    public int MaxRecipients { get; init; } = 100;
    public int MaxSubjectChars { get; init; } = 998;
    public int MaxBodyChars { get; init; } = 5_000_000;
    public int MaxAttachments { get; init; } = 50;
    public long MaxAttachmentBytes { get; init; } = 25L * 1024 * 1024;
    public long MaxTotalBytes { get; init; } = 35L * 1024 * 1024;
}

/// <param name="Field">The request field the error is about: "from", "fromName", "to", "cc", "bcc", "subject", "text", "html", "attachments", "attachments[i]", "inReplyTo".</param>
/// <param name="Message">A sentence to show the user.</param>
public sealed record ComposeError(string Field, string Message);

/// <param name="Message">The built message when there were no errors. Dispose it when done: it may hold temp copies of attachments.</param>
public sealed record ComposeResult(MimeMessage? Message, IReadOnlyList<ComposeError> Errors)
{
    public bool Ok => Message is not null;
}

/// <summary>Builds a new message from what a webmail or API user typed, and writes it for delivery or the Sent folder.</summary>
public static class MessageComposer
{
    private const int MaxAddressChars = 998;
    private const int MaxNameChars = 256;
    private const int InMemoryAttachmentBytes = 1024 * 1024;

    private static readonly ParserOptions AddressOptions = CreateAddressOptions();

    /// <summary>Validates the request and builds the message; every problem found is reported, not only the first.</summary>
    /// <param name="messageIdDomain">The right-hand side of the generated Message-ID.</param>
    public static ComposeResult Build(ComposeRequest request, ComposeLimits limits, DateTimeOffset now, string messageIdDomain)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(limits);
        if (string.IsNullOrWhiteSpace(messageIdDomain) || messageIdDomain.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or '@'))
            throw new ArgumentException($"'{messageIdDomain}' is not a domain", nameof(messageIdDomain));

        var errors = new List<ComposeError>();

        var from = ParseAddress(request.FromAddress, "from", errors);
        if (request.FromName is { } fromName)
        {
            if (HasControl(fromName)) errors.Add(new("fromName", "the name must not contain line breaks or control characters"));
            else if (fromName.Length > MaxNameChars) errors.Add(new("fromName", $"the name is too long (max {MaxNameChars} characters)"));
        }

        var to = request.To.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();
        var cc = request.Cc.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();
        var bcc = request.Bcc.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();
        var recipientCount = to.Count + cc.Count + bcc.Count;
        List<MailboxAddress> toAddresses = [], ccAddresses = [], bccAddresses = [];
        if (recipientCount == 0)
        {
            errors.Add(new("to", "at least one recipient is required"));
        }
        else if (recipientCount > limits.MaxRecipients)
        {
            errors.Add(new("to", $"too many recipients (max {limits.MaxRecipients})"));
        }
        else
        {
            toAddresses = ParseAddresses(to, "to", errors);
            ccAddresses = ParseAddresses(cc, "cc", errors);
            bccAddresses = ParseAddresses(bcc, "bcc", errors);
        }

        var subject = request.Subject ?? "";
        if (HasControl(subject)) errors.Add(new("subject", "the subject must not contain line breaks or control characters"));
        else if (subject.Length > limits.MaxSubjectChars) errors.Add(new("subject", $"the subject is too long (max {limits.MaxSubjectChars} characters)"));

        if (request.Text?.Length > limits.MaxBodyChars) errors.Add(new("text", $"the text is too long (max {limits.MaxBodyChars} characters)"));
        if (request.Html?.Length > limits.MaxBodyChars) errors.Add(new("html", $"the HTML text is too long (max {limits.MaxBodyChars} characters)"));

        string? inReplyTo = null;
        if (!string.IsNullOrWhiteSpace(request.InReplyTo))
        {
            inReplyTo = request.InReplyTo.Trim().TrimStart('<').TrimEnd('>');
            if (inReplyTo.Length is 0 or > MaxAddressChars || inReplyTo.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>'))
            {
                errors.Add(new("inReplyTo", $"'{Shown(request.InReplyTo)}' is not a valid message id"));
                inReplyTo = null;
            }
        }

        // Read last: copying a non-seekable attachment is the expensive part, skipped when too many.
        var attachments = new List<MimePart>();
        try
        {
            if (request.Attachments.Count > limits.MaxAttachments)
                errors.Add(new("attachments", $"too many attachments (max {limits.MaxAttachments})"));
            else
                AddAttachments(request.Attachments, limits, errors, attachments);

            if (errors.Count > 0 || from is null)
            {
                DisposeAll(attachments);
                return new ComposeResult(null, errors);
            }
        }
        catch
        {
            DisposeAll(attachments);
            throw;
        }

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(request.FromName ?? from.Name, from.Address));
        message.To.AddRange(toAddresses);
        message.Cc.AddRange(ccAddresses);
        message.Bcc.AddRange(bccAddresses);
        message.Subject = subject;
        message.Date = now;
        message.MessageId = MimeUtils.GenerateMessageId(messageIdDomain);
        if (inReplyTo is not null)
        {
            message.InReplyTo = $"<{inReplyTo}>";
            message.References.Add($"<{inReplyTo}>");
        }

        var body = new BodyBuilder
        {
            // An HTML-only message still gets a text alternative, for text-only readers and spam filters.
            TextBody = request.Text ?? (request.Html is null ? "" : HtmlToText.Convert(request.Html, limits.MaxBodyChars)),
            HtmlBody = request.Html,
        };
        foreach (var attachment in attachments) body.Attachments.Add(attachment);
        message.Body = body.ToMessageBody();
        // Quoted-printable or base64 wherever 8-bit text or long lines would need an 8BITMIME server.
        message.Prepare(EncodingConstraint.SevenBit);
        return new ComposeResult(message, []);
    }

    /// <param name="includeBcc">False for the copies delivered to recipients (no Bcc header), true for the sender's Sent copy.</param>
    public static async Task WriteAsync(MimeMessage message, Stream destination, bool includeBcc, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(destination);
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos; // RFC 5322 line endings, as SMTP sends them
        if (!includeBcc) options.HiddenHeaders.Add(HeaderId.Bcc);
        await message.WriteToAsync(options, destination, ct);
    }

    /// <summary>To, Cc and Bcc addresses, each once (compared case-insensitively), in that order.</summary>
    public static IReadOnlyList<string> AllRecipients(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes)
            .Select(m => m.Address)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    private static List<MailboxAddress> ParseAddresses(List<string> addresses, string field, List<ComposeError> errors)
    {
        var parsed = new List<MailboxAddress>(addresses.Count);
        foreach (var address in addresses)
        {
            if (ParseAddress(address, field, errors) is { } mailbox) parsed.Add(mailbox);
        }
        return parsed;
    }

    /// <summary>One mailbox with local@domain; groups, lists and anything with a line break are refused.</summary>
    private static MailboxAddress? ParseAddress(string? text, string field, List<ComposeError> errors)
    {
        if (text is { Length: > 0 and <= MaxAddressChars } && !HasControl(text)
            && MailboxAddress.TryParse(AddressOptions, text, out var mailbox)
            && mailbox.Address.LastIndexOf('@') is var at && at > 0 && at < mailbox.Address.Length - 1)
            return mailbox;

        errors.Add(new(field, $"'{Shown(text)}' is not a valid address"));
        return null;
    }

    private static void AddAttachments(IReadOnlyList<ComposeAttachment> requested, ComposeLimits limits, List<ComposeError> errors, List<MimePart> parts)
    {
        long total = 0;
        for (var i = 0; i < requested.Count; i++)
        {
            var attachment = requested[i];
            var contentType = ContentType.TryParse(attachment.ContentType ?? "", out var parsed) ? parsed : new ContentType("application", "octet-stream");
            var fileName = FileNames.Safe(attachment.FileName, contentType.MimeType);

            var content = Measure(attachment.Content, limits.MaxAttachmentBytes, out var size);
            if (content is null)
            {
                errors.Add(new($"attachments[{i}]", $"attachment '{fileName}' is larger than {Size(limits.MaxAttachmentBytes)}"));
                continue;
            }
            total += size;
            parts.Add(new MimePart(contentType)
            {
                Content = new MimeContent(content),
                ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = fileName, // RFC 2231-encoded by MimeKit when not ASCII
            });
        }

        if (total > limits.MaxTotalBytes)
            errors.Add(new("attachments", $"the attachments are larger than {Size(limits.MaxTotalBytes)} together"));
    }

    /// <summary>
    /// The attachment's bytes from the current position, as a stream the message can own, and
    /// their count; null when there are more than <paramref name="maxBytes"/>. A non-seekable
    /// stream is copied (to memory, or a temp file past 1 MB) to count it.
    /// </summary>
    private static Stream? Measure(Stream source, long maxBytes, out long size)
    {
        if (source.CanSeek)
        {
            size = source.Length - source.Position;
            // The message writes the content from its start: bound it to what is left, leave the caller's stream open.
            return size > maxBytes ? null : new BoundStream(source, source.Position, source.Length, leaveOpen: true);
        }

        Stream copy = new MemoryStream();
        var buffer = new byte[64 * 1024];
        size = 0;
        try
        {
            int read;
            while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
            {
                size += read;
                if (size > maxBytes)
                {
                    copy.Dispose();
                    return null;
                }
                if (copy is MemoryStream memory && size > InMemoryAttachmentBytes)
                {
                    copy = TempFiles.Create(Path.GetTempPath());
                    memory.Position = 0;
                    memory.CopyTo(copy);
                }
                copy.Write(buffer, 0, read);
            }
            copy.Position = 0;
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    private static void DisposeAll(List<MimePart> parts)
    {
        foreach (var part in parts) part.Dispose(); // and with it the content stream
    }

    private static bool HasControl(string s) => s.Any(char.IsControl);

    private static string Size(long bytes) => bytes switch
    {
        >= 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MB",
        >= 1024 => $"{bytes / 1024.0:0.#} KB",
        _ => $"{bytes} bytes",
    };

    /// <summary>User input echoed in an error: single line, bounded.</summary>
    private static string Shown(string? s)
    {
        if (s is null) return "";
        var line = new string(s.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        return line.Length <= 100 ? line : line[..100] + "…";
    }

    private static ParserOptions CreateAddressOptions()
    {
        var options = ParserOptions.Default.Clone();
        options.AddressParserComplianceMode = RfcComplianceMode.Strict;
        options.AllowAddressesWithoutDomain = false;
        options.AllowUnquotedCommasInAddresses = false;
        return options;
    }
}
