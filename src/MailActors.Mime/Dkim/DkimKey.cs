using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;

namespace MailActors.Mime.Dkim;

/// <summary>
/// An RSA signing key for one domain and selector. The PEM (PKCS#1 or PKCS#8, unencrypted) is
/// parsed and checked when the key is created, so a bad key fails at load rather than at the first send.
/// </summary>
/// <param name="Domain">The signing domain (d=); stored lower-case and IDN-encoded.</param>
/// <param name="Selector">The selector (s=); stored lower-case.</param>
public sealed record DkimKey(string Domain, string Selector, string PrivateKeyPem)
{
    // RFC 8301: verifiers must not accept signatures from RSA keys shorter than 1024 bits.
    private const int MinimumKeyBits = 1024;

    // Get-only (no init) so a `with` expression cannot pair a new PEM with the old parsed key.
    public string Domain { get; } = DkimNames.Normalize(Domain, nameof(Domain));
    public string Selector { get; } = DkimNames.Normalize(Selector, nameof(Selector));
    public string PrivateKeyPem { get; } = PrivateKeyPem;

    private readonly (AsymmetricKeyParameter Private, string Txt) _parsed = Parse(PrivateKeyPem);

    public string DnsName => $"{Selector}._domainkey.{Domain}";

    /// <summary>
    /// The TXT record to publish at <see cref="DnsName"/>: "v=DKIM1; k=rsa; p=&lt;base64 SubjectPublicKeyInfo&gt;".
    /// For 2048-bit keys it is longer than 255 bytes, so DNS tools must split it into several strings.
    /// </summary>
    public string TxtRecord => _parsed.Txt;

    internal AsymmetricKeyParameter SigningKey => _parsed.Private;

    public bool Equals(DkimKey? other) =>
        other is not null && Domain == other.Domain && Selector == other.Selector && PrivateKeyPem == other.PrivateKeyPem;

    public override int GetHashCode() => HashCode.Combine(Domain, Selector, PrivateKeyPem);

    // The generated ToString would print the private key into whatever log it reaches.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Domain = ").Append(Domain).Append(", Selector = ").Append(Selector);
        return true;
    }

    private static (AsymmetricKeyParameter, string) Parse(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem, nameof(PrivateKeyPem));
        using var rsa = RSA.Create();
        RSAParameters parameters;
        try
        {
            rsa.ImportFromPem(pem);
            parameters = rsa.ExportParameters(includePrivateParameters: true);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new ArgumentException($"Not an unencrypted RSA private key in PEM form: {e.Message}", nameof(PrivateKeyPem), e);
        }
        if (rsa.KeySize < MinimumKeyBits)
            throw new ArgumentException($"RSA key has {rsa.KeySize} bits; DKIM verifiers require at least {MinimumKeyBits}.", nameof(PrivateKeyPem));

        var txt = "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
        return (DotNetUtilities.GetRsaKeyPair(parameters).Private, txt);
    }
}
