using MimeKit;
using MimeKit.Cryptography;

namespace MailActors.Mime.Dkim;

/// <summary>DKIM signing (RFC 6376) of outbound mail: rsa-sha256, relaxed/relaxed, with a timestamp.</summary>
public static class DkimSigning
{
    // Signed in this order, each as many times as it occurs (h= must name every instance to cover it).
    private static readonly string[] SignedHeaders =
    [
        "From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "Reply-To", "In-Reply-To", "References",
    ];

    // What goes on the wire: CRLF line endings, whatever platform we run on.
    private static readonly FormatOptions WireFormat = CreateWireFormat();

    /// <summary>
    /// Adds a DKIM-Signature header to <paramref name="message"/>. Bodies are first re-encoded for a
    /// 7-bit transport where needed (<see cref="MimeMessage.Prepare"/>), since a relay doing that
    /// after signing would break the body hash.
    /// </summary>
    /// <exception cref="ArgumentException">A From address is not in <see cref="DkimKey.Domain"/> or one of its subdomains, or there is no From.</exception>
    public static void Sign(MimeMessage message, DkimKey key, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(key);
        EnsureFromIsWithin(message, key.Domain);

        message.Prepare(EncodingConstraint.SevenBit);

        var headers = new List<string>();
        foreach (var name in SignedHeaders)
        {
            // MimeKit keeps Content-* fields of the top-level entity on the body, not the message.
            var block = name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) ? message.Body?.Headers : message.Headers;
            var count = block?.Count(h => h.Field.Equals(name, StringComparison.OrdinalIgnoreCase)) ?? 0;
            for (var i = 0; i < count; i++) headers.Add(name);
        }

        var signer = new FixedTimeSigner(key, now)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        signer.Sign(WireFormat, message, headers);
    }

    /// <summary>
    /// Reads a raw message, signs it as <see cref="Sign"/> does and writes it (CRLF line endings) to
    /// <paramref name="destination"/>. Parts are not loaded into memory: a seekable source is parsed in
    /// place; a non-seekable one is spooled to a temporary file first, as the signature header has to be
    /// written before the body it covers.
    /// </summary>
    /// <exception cref="FormatException">The source is not a message.</exception>
    public static async Task SignAsync(Stream rawMessage, Stream destination, DkimKey key, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(rawMessage);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(key);

        await using var spool = rawMessage.CanSeek ? null : await SpoolAsync(rawMessage, ct);
        using var message = await MimeMessage.LoadAsync(ParserOptions.Default, spool ?? rawMessage, persistent: true, ct);
        Sign(message, key, now);
        await message.WriteToAsync(WireFormat, destination, ct);
    }

    private static void EnsureFromIsWithin(MimeMessage message, string domain)
    {
        var from = message.From.Mailboxes.ToList();
        if (from.Count == 0) throw new ArgumentException("The message has no From address to sign for.", nameof(message));
        foreach (var mailbox in from)
        {
            if (!DkimNames.TryNormalize(mailbox.Domain, out var fromDomain) || !DkimNames.IsWithin(fromDomain, domain))
                throw new ArgumentException($"From address {mailbox.Address} is not in {domain}; refusing to sign for it.", nameof(message));
        }
    }

    private static async Task<FileStream> SpoolAsync(Stream source, CancellationToken ct)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,
            BufferSize = 64 * 1024,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var spool = new FileStream(Path.Combine(Path.GetTempPath(), $"mailactors-dkim-{Guid.NewGuid():N}.eml"), options);
        try
        {
            await source.CopyToAsync(spool, ct);
            spool.Position = 0;
            return spool;
        }
        catch
        {
            await spool.DisposeAsync();
            throw;
        }
    }

    private static FormatOptions CreateWireFormat()
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        return options;
    }

    /// <summary>Takes t= from the caller's clock instead of DateTime.UtcNow.</summary>
    private sealed class FixedTimeSigner(DkimKey key, DateTimeOffset now)
        : DkimSigner(key.SigningKey, key.Domain, key.Selector, DkimSignatureAlgorithm.RsaSha256)
    {
        protected override long GetTimestamp() => now.ToUnixTimeSeconds();
    }
}
