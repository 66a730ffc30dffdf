using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace MailActors.Mime.Dkim;

/// <summary>
/// Per-domain DKIM keys. Generated keys live in <c>&lt;directory&gt;/&lt;domain&gt;.&lt;selector&gt;.pem</c>
/// (mode 0600); keys configured by path take precedence and are never generated or written.
/// Several stores (or nodes) sharing one directory end up with the same key per domain.
/// </summary>
public sealed class DkimKeyStore
{
    private const int GeneratedKeyBits = 2048;

    private readonly string _directory;
    private readonly string _selector;
    private readonly Dictionary<string, DkimKey> _configured = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DkimKey> _loaded = new(StringComparer.Ordinal);
    private readonly Lock _createLock = new();

    /// <param name="configuredKeyFiles">Domain → path of a PEM private key; used with <paramref name="selector"/>.</param>
    /// <exception cref="InvalidDataException">A configured file holds no usable RSA private key.</exception>
    public DkimKeyStore(string directory, IReadOnlyDictionary<string, string>? configuredKeyFiles = null, string selector = "mail")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        _selector = DkimNames.Normalize(selector, nameof(selector));

        // Read now: a missing or broken configured key should stop startup, not the first send.
        foreach (var (domain, path) in configuredKeyFiles ?? new Dictionary<string, string>())
        {
            var key = Load(DkimNames.Normalize(domain, nameof(configuredKeyFiles)), path);
            if (!_configured.TryAdd(key.Domain, key))
                throw new ArgumentException($"DKIM key for {key.Domain} is configured twice.", nameof(configuredKeyFiles));
        }
    }

    /// <summary>The domain's key; an RSA-2048 key is generated and saved the first time a domain is asked for.</summary>
    public DkimKey GetOrCreate(string domain)
    {
        var name = DkimNames.Normalize(domain, nameof(domain));
        return FindNormalized(name) ?? Create(name);
    }

    /// <summary>The domain's key if one is configured or was generated; never generates.</summary>
    public DkimKey? Find(string domain) => FindNormalized(DkimNames.Normalize(domain, nameof(domain)));

    /// <summary>Every key with this store's selector (configured and generated), by domain: what DNS must publish.</summary>
    public IReadOnlyList<DkimKey> All()
    {
        var keys = new Dictionary<string, DkimKey>(_configured, StringComparer.Ordinal);
        if (Directory.Exists(_directory))
        {
            var suffix = $".{_selector}.pem";
            foreach (var path in Directory.EnumerateFiles(_directory, "*" + suffix))
            {
                var file = Path.GetFileName(path);
                if (DkimNames.TryNormalize(file[..^suffix.Length], out var domain) && domain + suffix == file && !keys.ContainsKey(domain))
                    keys[domain] = FindNormalized(domain)!;
            }
        }
        return keys.Values.OrderBy(k => k.Domain, StringComparer.Ordinal).ToList();
    }

    private DkimKey? FindNormalized(string domain)
    {
        if (_configured.TryGetValue(domain, out var key) || _loaded.TryGetValue(domain, out key)) return key;
        var path = PathFor(domain);
        return File.Exists(path) ? _loaded.GetOrAdd(domain, Load(domain, path)) : null;
    }

    private DkimKey Create(string domain)
    {
        // One generation per store at a time; other processes are handled by the no-overwrite rename below.
        lock (_createLock)
        {
            if (FindNormalized(domain) is { } existing) return existing;

            string pem;
            using (var rsa = RSA.Create(GeneratedKeyBits)) pem = rsa.ExportPkcs8PrivateKeyPem();
            var key = new DkimKey(domain, _selector, pem);

            CreateOwnerOnlyDirectory(_directory);
            var path = PathFor(domain);
            // Dot-prefixed and not *.pem, so All() never sees a half-written key.
            var temp = Path.Combine(_directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
            try
            {
                WriteOwnerOnly(temp, pem);
                try
                {
                    File.Move(temp, path, overwrite: false);
                }
                catch (IOException) when (File.Exists(path))
                {
                    // Another process won the race; its key is the one that gets published, so use it.
                    return _loaded.GetOrAdd(domain, Load(domain, path));
                }
            }
            finally
            {
                File.Delete(temp); // no-op once moved
            }
            return _loaded.GetOrAdd(domain, key);
        }
    }

    private string PathFor(string domain) => Path.Combine(_directory, $"{domain}.{_selector}.pem");

    private DkimKey Load(string domain, string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path, Encoding.ASCII);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"DKIM key for {domain} could not be read from {path}: {e.Message}", e);
        }
        try
        {
            return new DkimKey(domain, _selector, pem);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"DKIM key file {path}: {e.Message}", e);
        }
    }

    private static void WriteOwnerOnly(string path, string pem)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        file.Write(Encoding.ASCII.GetBytes(pem));
        file.Flush(flushToDisk: true); // the key must be on disk before the name points at it
    }

    private static void CreateOwnerOnlyDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
