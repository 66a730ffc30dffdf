using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;

namespace MailActors.Mime.Dkim;

/// <summary>
/// Finds DKIM public keys in DNS TXT records through a lookup the caller supplies, so this project
/// needs no DNS client. Only the "dns/txt" query method exists (RFC 6376 §3.6.2).
/// </summary>
/// <param name="txtLookup">
/// Name (e.g. "mail._domainkey.example.com") → the TXT record's strings joined, or null when there is
/// no record. DNS failures should throw, so a verifier can tell a temporary error from a missing key.
/// </param>
public sealed class DnsTxtPublicKeyLocator(Func<string, CancellationToken, Task<string?>> txtLookup) : DkimPublicKeyLocatorBase
{
    private readonly Func<string, CancellationToken, Task<string?>> _txtLookup = txtLookup ?? throw new ArgumentNullException(nameof(txtLookup));

    /// <exception cref="KeyNotFoundException">No TXT record at &lt;selector&gt;._domainkey.&lt;domain&gt;.</exception>
    /// <exception cref="NotSupportedException"><paramref name="methods"/> does not include dns/txt.</exception>
    /// <exception cref="MimeKit.ParseException">The record holds no usable key (including a revoked, empty p=).</exception>
    public override async Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrEmpty(methods) && !methods.Split(':').Any(m => m.Trim().Equals("dns/txt", StringComparison.OrdinalIgnoreCase)))
            throw new NotSupportedException($"DKIM key query method '{methods}' is not supported; only dns/txt is.");

        var name = $"{selector}._domainkey.{domain}";
        var txt = await _txtLookup(name, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"No DKIM key record at {name}.");
        return GetPublicKey(txt);
    }

    // MimeKit's synchronous verify path; the lookup is asynchronous only, so this blocks on it.
    public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
        LocatePublicKeyAsync(methods, domain, selector, cancellationToken).GetAwaiter().GetResult();
}
