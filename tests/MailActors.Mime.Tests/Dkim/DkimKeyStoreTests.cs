using System.Security.Cryptography;
using MailActors.Mime.Dkim;
using Xunit;

namespace MailActors.Mime.Tests.Dkim;

public sealed class DkimKeyStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dkim-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string KeyDir => Path.Combine(_dir, "keys");

    [Fact]
    public void A_key_is_generated_once_and_reused_by_later_stores()
    {
        var first = new DkimKeyStore(KeyDir).GetOrCreate("example.com");
        var again = new DkimKeyStore(KeyDir).GetOrCreate("Example.COM.");

        Assert.Equal(first.PrivateKeyPem, again.PrivateKeyPem);
        Assert.Equal(first, again);
        Assert.Equal("example.com", again.Domain);
        Assert.Equal("mail._domainkey.example.com", again.DnsName);
        Assert.Equal([Path.Combine(KeyDir, "example.com.mail.pem")], Directory.GetFiles(KeyDir));
        using var rsa = RSA.Create();
        rsa.ImportFromPem(first.PrivateKeyPem);
        Assert.Equal(2048, rsa.KeySize);
    }

    [Fact]
    public void Stores_racing_on_one_directory_all_get_the_same_key()
    {
        var keys = new DkimKey[6];
        Parallel.For(0, keys.Length, i => keys[i] = new DkimKeyStore(KeyDir).GetOrCreate("example.com"));

        Assert.All(keys, k => Assert.Equal(keys[0].PrivateKeyPem, k.PrivateKeyPem));
        Assert.Single(Directory.GetFiles(KeyDir)); // no temp files left behind
        Assert.Equal(keys[0].PrivateKeyPem, File.ReadAllText(Path.Combine(KeyDir, "example.com.mail.pem")));
    }

    [Fact]
    public void Generated_key_file_is_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows()) return; // Unix permissions only

        new DkimKeyStore(KeyDir).GetOrCreate("example.com");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(KeyDir, "example.com.mail.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(KeyDir));
    }

    [Fact]
    public void Txt_record_publishes_the_public_half_of_the_key()
    {
        var key = new DkimKeyStore(KeyDir, selector: "s2025").GetOrCreate("example.com");

        Assert.Equal("s2025._domainkey.example.com", key.DnsName);
        var tags = key.TxtRecord.Split(';').Select(t => t.Trim().Split('=', 2)).ToList();
        Assert.Equal(["v", "k", "p"], tags.Select(t => t[0]));
        Assert.Equal("DKIM1", tags[0][1]);
        Assert.Equal("rsa", tags[1][1]);
        using var published = RSA.Create();
        published.ImportSubjectPublicKeyInfo(Convert.FromBase64String(tags[2][1]), out _);
        using var signing = RSA.Create();
        signing.ImportFromPem(key.PrivateKeyPem);
        Assert.Equal(signing.ExportParameters(false).Modulus, published.ExportParameters(false).Modulus);
    }

    [Fact]
    public void A_configured_pem_file_wins_over_a_generated_key()
    {
        var generated = new DkimKeyStore(KeyDir).GetOrCreate("example.com");
        using var rsa = RSA.Create(2048);
        var configuredPath = Path.Combine(_dir, "operator.pem");
        File.WriteAllText(configuredPath, rsa.ExportRSAPrivateKeyPem()); // PKCS#1, as opendkim-genkey writes

        var store = new DkimKeyStore(KeyDir, new Dictionary<string, string> { ["EXAMPLE.com"] = configuredPath });

        Assert.Equal(rsa.ExportRSAPrivateKeyPem(), store.GetOrCreate("example.com").PrivateKeyPem);
        Assert.Equal(rsa.ExportRSAPrivateKeyPem(), store.Find("example.com")!.PrivateKeyPem);
        Assert.NotEqual(generated.PrivateKeyPem, store.Find("example.com")!.PrivateKeyPem);
        Assert.Equal(rsa.ExportRSAPrivateKeyPem(), Assert.Single(store.All()).PrivateKeyPem);
    }

    [Fact]
    public void A_configured_file_without_a_private_key_fails_at_startup()
    {
        using var rsa = RSA.Create(2048);
        var path = Path.Combine(_dir, "public.pem");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(path, rsa.ExportSubjectPublicKeyInfoPem());

        Assert.Throws<InvalidDataException>(() => new DkimKeyStore(KeyDir, new Dictionary<string, string> { ["example.com"] = path }));
        Assert.Throws<InvalidDataException>(() => new DkimKeyStore(KeyDir, new Dictionary<string, string> { ["example.com"] = Path.Combine(_dir, "missing.pem") }));
    }

    [Fact]
    public void Find_never_generates_and_All_lists_every_domain()
    {
        var store = new DkimKeyStore(KeyDir);
        Assert.Null(store.Find("example.com"));
        Assert.False(Directory.Exists(KeyDir));

        store.GetOrCreate("example.org");
        store.GetOrCreate("bücher.example");
        var other = new DkimKeyStore(KeyDir, selector: "other");
        other.GetOrCreate("example.net"); // another selector: not this store's key

        Assert.Equal(["example.org", "xn--bcher-kva.example"], new DkimKeyStore(KeyDir).All().Select(k => k.Domain));
        Assert.NotNull(new DkimKeyStore(KeyDir).Find("BÜCHER.example"));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b.example")]
    [InlineData("")]
    [InlineData("-bad.example")]
    public void Names_that_are_not_host_names_are_rejected(string domain)
    {
        var store = new DkimKeyStore(KeyDir);
        Assert.Throws<ArgumentException>(() => store.GetOrCreate(domain));
        Assert.False(Directory.Exists(KeyDir));
    }

    [Fact]
    public void ToString_does_not_print_the_private_key()
    {
        var key = DkimTestKeys.ExampleCom;

        Assert.Equal("DkimKey { Domain = example.com, Selector = mail }", key.ToString());
    }
}
