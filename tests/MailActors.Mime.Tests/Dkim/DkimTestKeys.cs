using System.Security.Cryptography;
using MailActors.Mime.Dkim;
using Xunit;
using MimeKit;
using MimeKit.Cryptography;

namespace MailActors.Mime.Tests.Dkim;

/// <summary>Shared keys (RSA generation is slow) and a verifier that reads keys from a dictionary instead of DNS.</summary>
internal static class DkimTestKeys
{
    private static readonly Lazy<DkimKey> LazyExampleCom = new(() => NewKey("example.com"));

    public static DkimKey ExampleCom => LazyExampleCom.Value;

    public static DkimKey NewKey(string domain, string selector = "mail")
    {
        using var rsa = RSA.Create(2048);
        return new DkimKey(domain, selector, rsa.ExportPkcs8PrivateKeyPem());
    }

    public static DnsTxtPublicKeyLocator Locator(params DkimKey[] published)
    {
        var records = published.ToDictionary(k => k.DnsName, k => k.TxtRecord, StringComparer.OrdinalIgnoreCase);
        return new DnsTxtPublicKeyLocator((name, _) => Task.FromResult(records.GetValueOrDefault(name)));
    }

    /// <summary>Parses the bytes as a receiver would and checks the first DKIM-Signature.</summary>
    public static async Task<bool> VerifiesAsync(byte[] wire, params DkimKey[] published)
    {
        using var message = MimeMessage.Load(new MemoryStream(wire));
        var index = message.Headers.IndexOf(HeaderId.DkimSignature);
        Assert.True(index >= 0, "no DKIM-Signature header");
        var verifier = new DkimVerifier(Locator(published));
        return await verifier.VerifyAsync(message, message.Headers[index], CancellationToken.None);
    }

    public static byte[] Wire(MimeMessage message)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var stream = new MemoryStream();
        message.WriteTo(options, stream);
        return stream.ToArray();
    }
}
