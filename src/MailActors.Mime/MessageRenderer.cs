using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using AngleSharp;
using AngleSharp.Dom;
using Ganss.Xss;
using MailActors.Core;
using MailActors.Storage.Blobs;
using MimeKit;

namespace MailActors.Mime;

public sealed record RenderedHeader(string Name, string Value);

/// <param name="PartId">IMAP-style section number ("2", "1.2"): digits and dots, safe in a URL path.</param>
/// <param name="FileName">Safe to use as a file name (see <see cref="AttachmentContent.FileName"/>).</param>
/// <param name="Size">Decoded size in bytes.</param>
/// <param name="Inline">False when the sender marked it Content-Disposition: attachment.</param>
/// <param name="ContentId">Without angle brackets; the HTML body refers to it as cid:.</param>
public sealed record RenderedAttachment(string PartId, string FileName, string ContentType, long Size, bool Inline, string? ContentId);

/// <param name="Headers">Decoded, in the order From, Sender, Reply-To, To, Cc, Bcc, Subject, Date, Message-ID, In-Reply-To, References, List-Unsubscribe; only those present.</param>
/// <param name="Text">The text/plain body, or the HTML body as text when there is no plain one; null when neither exists.</param>
/// <param name="Html">The sanitized HTML body; null when the message has none.</param>
/// <param name="RemoteContentBlocked">True when remote images or backgrounds were removed (kept in data-blocked-src / data-blocked-background).</param>
/// <param name="ApproximateBytes">Rough memory cost of this object, for the cache's size limit.</param>
public sealed record RenderedMessage(
    IReadOnlyList<RenderedHeader> Headers,
    string? Text,
    string? Html,
    bool RemoteContentBlocked,
    IReadOnlyList<RenderedAttachment> Attachments,
    long ApproximateBytes);

/// <param name="Content">Decoded bytes (transfer encoding removed), seekable, positioned at 0; the caller disposes it.</param>
/// <param name="FileName">No path separators, quotes or control characters, at most 255 characters, never empty.</param>
public sealed record AttachmentContent(string ContentType, string FileName, Stream Content);

public sealed record MessageRendererOptions
{
    /// <summary>Upper bound of the rendered messages kept in memory, by <see cref="RenderedMessage.ApproximateBytes"/>.</summary>
    public long CacheBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Longer text and HTML bodies are cut at this many characters, with a note saying so.</summary>
    public int MaxBodyChars { get; init; } = 2_000_000;

    /// <summary>Blobs up to this size are parsed from memory; larger ones are copied to a temp file first.</summary>
    public int InMemoryBytes { get; init; } = 1024 * 1024;

    /// <summary>Where temp copies of large messages and attachments go (deleted on close).</summary>
    public string TempDirectory { get; init; } = Path.GetTempPath();
}

/// <summary>
/// Turns a stored message into what a webmail shows: decoded headers, a bounded text body, a
/// sanitized HTML body and the list of attachments, and streams single attachments out.
/// </summary>
/// <remarks>
/// <para>The blob store's stream cannot seek, so the message is first copied to memory (small)
/// or a temp file (large) and parsed from there in MimeKit's persistent mode: attachment
/// contents stay in that copy and are never all loaded at once.</para>
/// <para>HTML policy: no scripts, frames, objects, embeds, forms, event handler attributes or
/// URLs other than http(s), mailto, tel and in-message anchors in links. Images and backgrounds may
/// come from cid: parts (rewritten to the attachment URL), data:image/* in img src, or remote
/// http(s) URLs, which are blocked unless the reader allowed them. Relative resource URLs are
/// dropped: they would be fetched from the webmail's own origin. <c>&lt;style&gt;</c> elements are
/// dropped rather than sanitized, because their rules apply to the whole page the HTML is
/// inserted into (the webmail's own UI too) unless the client isolates it; inline style
/// attributes are kept, sanitized, without position or z-index so that a message cannot draw
/// over the webmail. Links open in a new tab without referrer or opener.</para>
/// </remarks>
public sealed class MessageRenderer
{
    private const int MaxHeaderChars = 16 * 1024;
    private const string TruncatedNote = "[This message is too long to show in full; the rest was cut off.]";

    private static readonly (HeaderId Id, string Name)[] ShownHeaders =
    [
        (HeaderId.From, "From"), (HeaderId.Sender, "Sender"), (HeaderId.ReplyTo, "Reply-To"),
        (HeaderId.To, "To"), (HeaderId.Cc, "Cc"), (HeaderId.Bcc, "Bcc"), (HeaderId.Subject, "Subject"),
        (HeaderId.Date, "Date"), (HeaderId.MessageId, "Message-ID"), (HeaderId.InReplyTo, "In-Reply-To"),
        (HeaderId.References, "References"), (HeaderId.ListUnsubscribe, "List-Unsubscribe"),
    ];

    // Attributes that navigate when clicked rather than load when shown.
    private static readonly HashSet<string> NavigationAttributes = new(StringComparer.OrdinalIgnoreCase) { "href", "cite", "longdesc" };

    // Attributes whose blocked URL is kept as data-blocked-<name> for a "load images" button.
    private static readonly HashSet<string> RestorableAttributes = new(StringComparer.OrdinalIgnoreCase) { "src", "background" };

    // SVG is left out: an SVG opened on its own (e.g. in a new tab) may run script.
    private static readonly Regex DataImage = new(
        @"^data:image/(png|gif|jpeg|jpg|webp|bmp|avif|x-icon);base64,[A-Za-z0-9+/=\s]*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    private static readonly HtmlSanitizerOptions SanitizerOptions = CreateSanitizerOptions();

    // An attached message is written out as a message of its own: with RFC 5322 line endings,
    // whatever the platform's default is.
    private static readonly FormatOptions AttachedMessageFormat = CreateAttachedMessageFormat();

    private readonly IBlobStore _blobs;
    private readonly MessageRendererOptions _options;
    private readonly RenderCache _cache;

    public MessageRenderer(IBlobStore blobs, MessageRendererOptions options)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.CacheBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBodyChars);
        ArgumentOutOfRangeException.ThrowIfNegative(options.InMemoryBytes);
        _blobs = blobs;
        _options = options;
        _cache = new RenderCache(options.CacheBytes);
    }

    internal long CachedBytes => _cache.Bytes;

    internal int CachedCount => _cache.Count;

    /// <param name="attachmentUrl">Maps a part id to the URL the client fetches it from; cid: references in the HTML are rewritten with it.</param>
    /// <param name="cacheKey">Identifies the result together with <paramref name="allowRemoteContent"/>: the same key must mean the same blob and the same <paramref name="attachmentUrl"/>.</param>
    /// <exception cref="BlobNotFoundException">No such blob.</exception>
    /// <exception cref="BlobCorruptedException">The blob is damaged.</exception>
    public Task<RenderedMessage> RenderAsync(BlobId blob, Func<string, string> attachmentUrl, string cacheKey, bool allowRemoteContent, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(attachmentUrl);
        ArgumentNullException.ThrowIfNull(cacheKey);
        var key = (allowRemoteContent ? "remote\n" : "blocked\n") + cacheKey;
        // Not cancelled by this caller: another request for the same key may be waiting on it.
        return _cache.GetOrAddAsync(key, () => RenderUncachedAsync(blob, attachmentUrl, allowRemoteContent, CancellationToken.None), ct);
    }

    /// <returns>Null when the message has no leaf part with this id.</returns>
    /// <exception cref="BlobNotFoundException">No such blob.</exception>
    /// <exception cref="BlobCorruptedException">The blob is damaged.</exception>
    public async Task<AttachmentContent?> OpenAttachmentAsync(BlobId blob, string partId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(partId);
        await using var copy = await CopyBlobAsync(blob, ct);
        using var message = await TryLoadAsync(copy, ct);
        var entity = message is null ? null : Leaves(message.Body).FirstOrDefault(p => p.Id == partId).Entity;
        if (entity is null) return null;

        // A part is no larger than its message: keep it where the message was kept.
        Stream content = copy is MemoryStream ? new MemoryStream() : TempFiles.Create(_options.TempDirectory);
        try
        {
            switch (entity)
            {
                case MessagePart { Message: { } attached }:
                    await attached.WriteToAsync(AttachedMessageFormat, content, ct);
                    break;
                case MimePart { Content: { } encoded }:
                    await encoded.DecodeToAsync(content, ct);
                    break;
            }
            content.Position = 0;
            return new AttachmentContent(MimeTypeOf(entity), FileNameOf(entity), content);
        }
        catch
        {
            await content.DisposeAsync();
            throw;
        }
    }

    private async Task<RenderedMessage> RenderUncachedAsync(BlobId blob, Func<string, string> attachmentUrl, bool allowRemoteContent, CancellationToken ct)
    {
        await using var copy = await CopyBlobAsync(blob, ct);
        using var message = await TryLoadAsync(copy, ct);
        if (message is not null) return Render(message, attachmentUrl, allowRemoteContent);

        // Not MIME at all: show what is there.
        copy.Position = 0;
        var raw = ReadBounded(copy, new UTF8Encoding(false), out var truncated);
        return Result([], WithNote(raw, truncated), null, false, []);
    }

    /// <returns>Null when the blob is not MIME at all (MimeKit finds no headers).</returns>
    private static async Task<MimeMessage?> TryLoadAsync(Stream copy, CancellationToken ct)
    {
        try
        {
            return await MimeMessage.LoadAsync(ParserOptions.Default, copy, persistent: true, ct);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private RenderedMessage Render(MimeMessage message, Func<string, string> attachmentUrl, bool allowRemoteContent)
    {
        var parts = Leaves(message.Body).ToList();
        var bodies = parts.Select(p => p.Entity).OfType<TextPart>().Where(p => !p.IsAttachment).ToList();
        var textPart = bodies.FirstOrDefault(p => p.IsPlain);
        var htmlPart = bodies.FirstOrDefault(p => p.IsHtml);

        string? text = null;
        if (textPart is not null) text = WithNote(ReadText(textPart, out var truncated), truncated);

        string? html = null;
        var remoteBlocked = false;
        if (htmlPart is not null)
        {
            var raw = ReadText(htmlPart, out var truncated);
            var byContentId = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (id, entity) in parts)
                if (entity.ContentId is { Length: > 0 } cid) byContentId.TryAdd(cid, id);

            (html, remoteBlocked) = Sanitize(
                raw,
                cid => byContentId.TryGetValue(cid, out var partId) ? attachmentUrl(partId) : null,
                allowRemoteContent);
            if (truncated) html += $"<p><em>{TruncatedNote}</em></p>"; // after sanitizing: the cut may fall inside a tag
            text ??= WithNote(HtmlToText.Convert(raw, _options.MaxBodyChars), truncated);
        }

        var attachments = parts
            .Where(p => p.Entity != textPart && p.Entity != htmlPart && IsAttachment(p.Entity))
            .Select(p => new RenderedAttachment(
                p.Id, FileNameOf(p.Entity), MimeTypeOf(p.Entity), DecodedSize(p.Entity), !p.Entity.IsAttachment,
                p.Entity.ContentId is { Length: > 0 } cid ? Clean(cid, 998) : null))
            .ToList();

        return Result(Headers(message), text, html, remoteBlocked, attachments);
    }

    private static RenderedMessage Result(List<RenderedHeader> headers, string? text, string? html, bool remoteBlocked, List<RenderedAttachment> attachments)
    {
        const int objectOverhead = 64;
        long chars = (text?.Length ?? 0) + (html?.Length ?? 0)
            + headers.Sum(h => (long)h.Name.Length + h.Value.Length)
            + attachments.Sum(a => (long)a.PartId.Length + a.FileName.Length + a.ContentType.Length + (a.ContentId?.Length ?? 0));
        var bytes = 2 * chars + objectOverhead * (4 + headers.Count * 2 + attachments.Count * 4);
        return new RenderedMessage(headers, text, html, remoteBlocked, attachments, bytes);
    }

    /// <summary>Leaf parts with IMAP section numbers. An attached message is one leaf: it is not descended into.</summary>
    private static IEnumerable<(string Id, MimeEntity Entity)> Leaves(MimeEntity? entity, string? section = null)
    {
        if (entity is Multipart multipart)
        {
            for (var i = 0; i < multipart.Count; i++)
            {
                foreach (var leaf in Leaves(multipart[i], section is null ? $"{i + 1}" : $"{section}.{i + 1}"))
                    yield return leaf;
            }
        }
        else if (entity is not null)
        {
            yield return (section ?? "1", entity);
        }
    }

    /// <summary>Whatever is not body text: attached messages, parts marked as attachments, named parts and non-text parts.</summary>
    private static bool IsAttachment(MimeEntity entity) => entity switch
    {
        MessagePart => true,
        MimePart part => part.IsAttachment || part.FileName is not null || !part.ContentType.IsMimeType("text", "*"),
        _ => false,
    };

    private static string MimeTypeOf(MimeEntity entity) => entity.ContentType.MimeType.ToLowerInvariant();

    private static string FileNameOf(MimeEntity entity)
    {
        var name = entity switch
        {
            MimePart part => part.FileName,
            MessagePart part => entity.ContentDisposition?.FileName ?? entity.ContentType.Name
                ?? (part.Message?.Subject is { Length: > 0 } subject ? subject + ".eml" : null),
            _ => null,
        };
        return FileNames.Safe(name, MimeTypeOf(entity));
    }

    private static long DecodedSize(MimeEntity entity)
    {
        using var counter = new CountingStream();
        switch (entity)
        {
            case MessagePart { Message: { } attached }:
                attached.WriteTo(AttachedMessageFormat, counter);
                break;
            case MimePart { Content: { } content }:
                content.DecodeTo(counter);
                break;
        }
        return counter.Length;
    }

    private static List<RenderedHeader> Headers(MimeMessage message)
    {
        var headers = new List<RenderedHeader>();
        foreach (var (id, name) in ShownHeaders)
        {
            var header = message.Headers.FirstOrDefault(h => h.Id == id);
            if (header is null) continue;
            var value = id switch
            {
                HeaderId.From => Addresses(message.From, header),
                HeaderId.Sender => message.Sender?.ToString() ?? header.Value,
                HeaderId.ReplyTo => Addresses(message.ReplyTo, header),
                HeaderId.To => Addresses(message.To, header),
                HeaderId.Cc => Addresses(message.Cc, header),
                HeaderId.Bcc => Addresses(message.Bcc, header),
                HeaderId.Subject => message.Subject ?? header.Value,
                _ => header.Value,
            };
            headers.Add(new RenderedHeader(name, Clean(value, MaxHeaderChars)));
        }
        return headers;
    }

    // The raw (decoded) value when MimeKit could make no address of it, so nothing is hidden.
    private static string Addresses(InternetAddressList list, Header header) => list.Count > 0 ? list.ToString() : header.Value;

    private string ReadText(TextPart part, out bool truncated)
    {
        truncated = false;
        if (part.Content is null) return "";
        if (part.ContentType.CharsetEncoding is { } declared) return ReadPart(part, declared, out truncated);
        try
        {
            return ReadPart(part, new UTF8Encoding(false, throwOnInvalidBytes: true), out truncated);
        }
        catch (DecoderFallbackException)
        {
            return ReadPart(part, Encoding.Latin1, out truncated); // no charset and not UTF-8: an old 8-bit mailer
        }
    }

    private string ReadPart(TextPart part, Encoding encoding, out bool truncated)
    {
        using var decoded = part.Content!.Open(); // checked by ReadText
        return ReadBounded(decoded, encoding, out truncated);
    }

    private string ReadBounded(Stream stream, Encoding encoding, out bool truncated)
    {
        using var reader = new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: true, bufferSize: 16 * 1024, leaveOpen: true);
        var buffer = ArrayPool<char>.Shared.Rent(16 * 1024);
        try
        {
            var text = new StringBuilder();
            int read;
            while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
            {
                text.Append(buffer, 0, read);
                if (text.Length <= _options.MaxBodyChars) continue;
                var cut = _options.MaxBodyChars;
                if (char.IsHighSurrogate(text[cut - 1])) cut--;
                text.Length = cut;
                truncated = true;
                return text.Replace("\r\n", "\n").ToString();
            }
            truncated = false;
            return text.Replace("\r\n", "\n").ToString();
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private static string WithNote(string text, bool truncated) => truncated ? text + "\n\n" + TruncatedNote : text;

    private static (string Html, bool RemoteBlocked) Sanitize(string html, Func<string, string?> resolveContentId, bool allowRemoteContent)
    {
        var remoteBlocked = false;
        var restorable = new List<(IElement Element, string Attribute, string Url)>();

        // A sanitizer per call, so the URL filter can see this message's parts and settings.
        var sanitizer = new HtmlSanitizer(SanitizerOptions);
        sanitizer.FilterUrl += (_, e) =>
        {
            var original = e.OriginalUrl.Trim();
            var (attribute, navigation) = Classify(e.Tag, e.OriginalUrl); // attribute null for CSS url()

            if (original.StartsWith("cid:", StringComparison.OrdinalIgnoreCase))
            {
                e.SanitizedUrl = resolveContentId(Uri.UnescapeDataString(original[4..]).Trim('<', '>'));
            }
            else if (original.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            {
                e.SanitizedUrl = e.Tag.LocalName == "img" && attribute == "src" && DataImage.IsMatch(original) ? original : null;
            }
            else if (string.IsNullOrEmpty(e.SanitizedUrl))
            {
                e.SanitizedUrl = null; // a scheme the sanitizer refused (javascript:, vbscript:, ...)
            }
            else if (navigation)
            {
                if (!IsLinkTarget(e.SanitizedUrl)) e.SanitizedUrl = null;
            }
            else if (!IsRemote(e.SanitizedUrl))
            {
                e.SanitizedUrl = null;
            }
            else if (!allowRemoteContent)
            {
                remoteBlocked = true;
                if (attribute is not null && RestorableAttributes.Contains(attribute))
                    restorable.Add((e.Tag, attribute.ToLowerInvariant(), e.SanitizedUrl));
                e.SanitizedUrl = null;
            }
        };

        var document = sanitizer.SanitizeDom(html);
        // Added after sanitizing: the sanitizer drops every data-* attribute the message brings,
        // so these can only be ours (and hold URLs that passed the filter above).
        foreach (var (element, attribute, url) in restorable) element.SetAttribute("data-blocked-" + attribute, url);
        foreach (var link in document.QuerySelectorAll("a[href], area[href]"))
        {
            link.SetAttribute("target", "_blank");
            link.SetAttribute("rel", "noopener noreferrer nofollow");
        }
        return (document.Body?.ChildNodes.ToHtml(sanitizer.OutputFormatter) ?? "", remoteBlocked);
    }

    /// <summary>
    /// Which attribute of the element holds this URL, and whether it is only a link. The filter
    /// sees URLs, not attributes, so a URL found in a resource attribute (src, background…) or
    /// in the style attribute is treated as a resource even if a link attribute holds it too —
    /// otherwise <c>&lt;img href=X src=X&gt;</c> would load a remote image meant to be blocked.
    /// </summary>
    private static (string? Attribute, bool Navigation) Classify(IElement element, string url)
    {
        string? link = null, resource = null;
        var inStyle = false;
        foreach (var attribute in element.Attributes)
        {
            if (attribute.Name.Equals("style", StringComparison.OrdinalIgnoreCase))
            {
                inStyle |= attribute.Value.Contains(url, StringComparison.Ordinal);
                continue;
            }
            if (attribute.Value != url || !SanitizerOptions.UriAttributes.Contains(attribute.Name)) continue;
            if (NavigationAttributes.Contains(attribute.Name)) link ??= attribute.Name;
            else resource ??= attribute.Name;
        }
        if (resource is not null) return (resource, false);
        return inStyle ? (null, false) : (link, link is not null);
    }

    private static bool IsRemote(string url) =>
        url.StartsWith("//", StringComparison.Ordinal) ||
        (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps));

    private static bool IsLinkTarget(string url) =>
        url.StartsWith('#') || IsRemote(url) ||
        (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "mailto" or "tel");

    private static HtmlSanitizerOptions CreateSanitizerOptions()
    {
        var options = new HtmlSanitizerOptions();
        // A form in a message can send what the reader types anywhere (phishing).
        foreach (var tag in new[] { "form", "input", "button", "select", "option", "optgroup", "textarea", "datalist", "keygen", "output", "menuitem" })
            options.AllowedTags.Remove(tag);
        foreach (var attribute in new[] { "action", "method", "enctype", "accept-charset" })
            options.AllowedAttributes.Remove(attribute);
        // Table and cell backgrounds are common in mail; their URLs go through the filter like src.
        options.AllowedAttributes.Add("background");
        // Positioned content can cover the webmail's own UI.
        options.AllowedCssProperties.Remove("position");
        options.AllowedCssProperties.Remove("z-index");
        options.AllowedSchemes.Add("mailto");
        options.AllowedSchemes.Add("tel");
        return options;
    }

    private static FormatOptions CreateAttachedMessageFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        return format;
    }

    private async Task<Stream> CopyBlobAsync(BlobId blob, CancellationToken ct)
    {
        await using var source = await _blobs.OpenReadAsync(blob, ct);
        Stream copy = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, ct)) > 0)
            {
                if (copy is MemoryStream memory && memory.Length + read > _options.InMemoryBytes)
                {
                    copy = TempFiles.Create(_options.TempDirectory);
                    memory.Position = 0;
                    await memory.CopyToAsync(copy, ct);
                }
                await copy.WriteAsync(buffer.AsMemory(0, read), ct);
            }
            copy.Position = 0;
            return copy;
        }
        catch
        {
            await copy.DisposeAsync();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Control characters (folding included) become spaces; bounded length.</summary>
    private static string Clean(string s, int max)
    {
        var cleaned = s.Any(char.IsControl) ? string.Create(s.Length, s, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++) span[i] = char.IsControl(source[i]) ? ' ' : source[i];
        }) : s;
        cleaned = cleaned.Trim();
        if (cleaned.Length <= max) return cleaned;
        return cleaned[..(char.IsHighSurrogate(cleaned[max - 1]) ? max - 1 : max)];
    }
}

internal static class FileNames
{
    private const int MaxLength = 255;

    /// <summary>
    /// A name that is safe to offer for saving and to put in a Content-Disposition header: the
    /// last path segment only, without control characters, quotes or characters Windows
    /// forbids, no leading dots, at most 255 characters (keeping the extension); "attachment"
    /// plus an extension from the content type when nothing is left.
    /// </summary>
    public static string Safe(string? name, string contentType)
    {
        var cleaned = new StringBuilder();
        if (name is not null)
        {
            var last = name.AsSpan()[(name.LastIndexOfAny(['/', '\\']) + 1)..];
            foreach (var c in last)
            {
                // Format characters include U+202E, which makes "invoice\u202Efdp.exe" display as "invoiceexe.pdf".
                if (char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format || c is '"' or '\'' or '<' or '>' or ':' or '|' or '?' or '*' or '\u2028' or '\u2029') continue;
                cleaned.Append(char.IsWhiteSpace(c) ? ' ' : c);
            }
        }
        var safe = cleaned.ToString().Trim().TrimStart('.').TrimEnd('.', ' ');
        if (safe.Length == 0)
            safe = "attachment" + (MimeTypes.TryGetExtension(contentType, out var extension) ? extension : "");
        return safe.Length <= MaxLength ? safe : Shorten(safe);
    }

    private static string Shorten(string name)
    {
        var extension = Path.GetExtension(name);
        if (extension.Length > 16) extension = "";
        var stemLength = MaxLength - extension.Length;
        if (char.IsHighSurrogate(name[stemLength - 1])) stemLength--;
        return name[..stemLength] + extension;
    }
}

internal static class TempFiles
{
    /// <summary>A new read-write temp file that disappears when closed.</summary>
    public static FileStream Create(string directory) =>
        new(Path.Combine(directory, $"mailactors-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, 64 * 1024, FileOptions.DeleteOnClose);
}
