using System.Text;
using MailActors.Core;
using MimeKit;
using MimeKit.Text;

namespace MailActors.Mime;

/// <summary>
/// Extracts what a mailbox keeps about a message (DESIGN.md) with MimeKit, from the spool file
/// in persistent mode, so attachments are never loaded into memory. Broken MIME is not an
/// error: the message is stored anyway and whatever can be read is used.
/// </summary>
public static class MessageParser
{
    public static async Task<MessageMetadata> ParseAsync(string path, BlobId blob, long storedSize, CancellationToken ct = default) =>
        (await ParseFileAsync(path, blob, storedSize, withBodyText: false, ct)).Metadata;

    /// <summary>
    /// <see cref="ParseAsync"/> and <see cref="BodyText(MimeMessage)"/> from one parse of the file,
    /// for edges that deliver the body text with the message. A file that doesn't parse gives ""
    /// (as <see cref="BodyTextAsync"/> would when the mailbox reads the blob itself).
    /// </summary>
    public static Task<(MessageMetadata Metadata, string BodyText)> ParseWithBodyTextAsync(string path, BlobId blob, long storedSize, CancellationToken ct = default) =>
        ParseFileAsync(path, blob, storedSize, withBodyText: true, ct);

    private static async Task<(MessageMetadata Metadata, string BodyText)> ParseFileAsync(string path, BlobId blob, long storedSize, bool withBodyText, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous);
        try
        {
            // Persistent: parts are read from the file while it is open, so both are taken here.
            var message = await MimeMessage.LoadAsync(ParserOptions.Default, stream, persistent: true, ct);
            return (FromMime(message, blob, storedSize), withBodyText ? BodyText(message) : "");
        }
        catch (FormatException)
        {
            stream.Position = 0;
            return (await Unparsable(stream, blob, storedSize, ct), "");
        }
    }

    public static MessageMetadata FromMime(MimeMessage message, BlobId blob, long storedSize)
    {
        var attachments = message.BodyParts.OfType<MimePart>()
            .Where(p => p.IsAttachment || (p.FileName is not null && p.ContentType.MediaType is not "text"))
            .Select(p => new AttachmentInfo(Clean(p.FileName ?? "unnamed", 255), p.ContentType.MimeType, DecodedSize(p)))
            .ToList();
        return new MessageMetadata(
            blob,
            storedSize,
            Clean(message.From.Mailboxes.FirstOrDefault()?.ToString() ?? message.Sender?.ToString() ?? "", 512),
            message.To.Mailboxes.Select(m => Clean(m.Address, 320)).Take(100).ToList(),
            message.Cc.Mailboxes.Select(m => Clean(m.Address, 320)).Take(100).ToList(),
            Clean(message.Subject ?? "", 998),
            message.Headers.Contains(HeaderId.Date) ? message.Date : null,
            message.MessageId is { Length: > 0 } id ? Clean("<" + id + ">", 998) : null,
            Snippet(message),
            attachments);
    }

    /// <summary>
    /// The body as plain text for the search index: the text/plain parts that are not
    /// attachments, else the HTML ones converted to text, at most <see cref="MaxBodyTextChars"/>
    /// characters. Broken parts give what could be decoded; never throws for bad MIME.
    /// </summary>
    public static string BodyText(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = new StringBuilder();
        try
        {
            var bodies = message.BodyParts.OfType<TextPart>().Where(p => !p.IsAttachment).ToList();
            var plain = bodies.Where(p => p.IsPlain).ToList();
            foreach (var part in plain.Count > 0 ? plain : bodies.Where(p => p.IsHtml))
            {
                if (text.Length >= MaxBodyTextChars) break;
                var chunk = Head(part, MaxBodyTextChars - text.Length);
                text.Append(part.IsHtml ? HtmlText(chunk, MaxBodyTextChars - text.Length) : chunk).Append('\n');
            }
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException or IOException)
        {
            // keep what was decoded before the broken part
        }
        return text.Length > MaxBodyTextChars ? text.ToString(0, MaxBodyTextChars) : text.ToString();
    }

    /// <summary>How much body text the search index takes (MessageIndex.MaxBodyChars).</summary>
    public const int MaxBodyTextChars = MailActors.Core.Search.MessageIndex.MaxBodyChars;

    /// <summary>The body text of a stored message file (see <see cref="BodyText(MimeMessage)"/>); "" when it doesn't parse.</summary>
    public static async Task<string> BodyTextAsync(Stream stream, CancellationToken ct = default)
    {
        try
        {
            var message = await MimeMessage.LoadAsync(ParserOptions.Default, stream, persistent: false, ct);
            return BodyText(message);
        }
        catch (FormatException)
        {
            return "";
        }
    }

    private static string Snippet(MimeMessage message)
    {
        try
        {
            // Only the start of the body is decoded: TextBody/HtmlBody would decode a whole
            // (possibly 50 MB) text part into one string just to keep 160 characters of it.
            var bodies = message.BodyParts.OfType<TextPart>().Where(p => !p.IsAttachment).ToList();
            var text = bodies.FirstOrDefault(p => p.IsPlain) is { } plain ? Head(plain, SnippetSourceChars) : null;
            if (string.IsNullOrWhiteSpace(text) && bodies.FirstOrDefault(p => p.IsHtml) is { } html)
                text = HtmlText(Head(html, SnippetSourceChars), 4 * MessageMetadata.MaxSnippetLength);
            return Clean(Collapse(text ?? ""), MessageMetadata.MaxSnippetLength);
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException or IOException)
        {
            return "";
        }
    }

    private const int SnippetSourceChars = 2 * 1024; // 8 KB of UTF-8, as before

    /// <summary>
    /// The start of a text part, transfer-decoded and charset-decoded: at most
    /// <paramref name="chars"/> characters (8× that of HTML, whose markup is dropped later).
    /// Read in small chunks, so a short part costs a short buffer, not one sized for the limit.
    /// </summary>
    private static string Head(TextPart part, int chars)
    {
        if (part.Content is null) return "";
        var limit = part.IsHtml ? 8 * chars : chars;
        using var decoded = part.Content.Open();
        using var reader = new StreamReader(decoded, part.ContentType.CharsetEncoding ?? Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
        var text = new StringBuilder();
        Span<char> chunk = stackalloc char[1024];
        int read;
        while (text.Length < limit && (read = reader.Read(chunk[..Math.Min(chunk.Length, limit - text.Length)])) > 0)
            text.Append(chunk[..read]);
        return text.ToString();
    }

    private static string HtmlText(string html, int maxChars)
    {
        var text = new StringBuilder();
        var tokenizer = new HtmlTokenizer(new StringReader(html));
        var skip = 0;
        while (tokenizer.ReadNextToken(out var token) && text.Length < maxChars)
        {
            switch (token)
            {
                case HtmlTagToken tag when tag.Id is HtmlTagId.Script or HtmlTagId.Style or HtmlTagId.Head:
                    skip += tag.IsEndTag ? -1 : tag.IsEmptyElement ? 0 : 1;
                    break;
                case HtmlDataToken data when skip <= 0:
                    text.Append(data.Data).Append(' ');
                    break;
            }
        }
        return System.Net.WebUtility.HtmlDecode(text.ToString());
    }

    /// <summary>The attachment's real size: decoded through a counting sink (content streams from the spool file).</summary>
    private static long DecodedSize(MimePart part)
    {
        if (part.Content is null) return 0;
        try
        {
            using var counter = new CountingStream();
            part.Content.DecodeTo(counter);
            return counter.Length;
        }
        catch (Exception e) when (e is FormatException or IOException)
        {
            return part.Content.Stream is { CanSeek: true } s ? s.Length : 0;
        }
    }

    private static async Task<MessageMetadata> Unparsable(Stream stream, BlobId blob, long storedSize, CancellationToken ct)
    {
        var buffer = new byte[4096];
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
        var snippet = Collapse(Encoding.UTF8.GetString(buffer, 0, read));
        return new MessageMetadata(blob, storedSize, "", [], [], "(message could not be parsed)", null, null,
            Clean(snippet, MessageMetadata.MaxSnippetLength), []);
    }

    private static string Collapse(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Bounded length, no control characters: these strings end up in JSON, IMAP and logs.</summary>
    private static string Clean(string s, int max)
    {
        var cleaned = (s.Any(char.IsControl) ? new string(s.Where(c => !char.IsControl(c)).ToArray()) : s).Trim();
        if (cleaned.Length <= max) return cleaned;
        var cut = char.IsHighSurrogate(cleaned[max - 1]) ? max - 1 : max;
        return cleaned[..cut];
    }
}
