using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MailActors.Net;

/// <summary>
/// The server certificate for STARTTLS and implicit TLS: the configured PFX, or a self-signed
/// one created at first start and kept in the data directory (so clients that pin it on first
/// use keep working across restarts).
/// </summary>
public static class TlsCertificates
{
    public static X509Certificate2 LoadOrCreate(string? pfxPath, string? password, string dataDirectory, string hostname)
    {
        if (!string.IsNullOrWhiteSpace(pfxPath))
        {
            if (!File.Exists(pfxPath)) throw new FileNotFoundException($"TLS certificate not found: {pfxPath}");
            return X509CertificateLoader.LoadPkcs12FromFile(pfxPath, password, X509KeyStorageFlags.Exportable);
        }
        var directory = Path.Combine(dataDirectory, "tls");
        var path = Path.Combine(directory, "self-signed.pfx");
        if (File.Exists(path))
        {
            var existing = X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.Exportable);
            if (existing.NotAfter > DateTime.UtcNow.AddDays(7)) return existing;
        }
        Directory.CreateDirectory(directory);
        var created = CreateSelfSigned(hostname);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, created.Export(X509ContentType.Pkcs12));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
        return created;
    }

    public static X509Certificate2 CreateSelfSigned(string hostname)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostname}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(hostname);
        if (hostname != "localhost") names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(2));
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }
}
