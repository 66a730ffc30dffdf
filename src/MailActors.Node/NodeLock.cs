namespace MailActors.Node;

/// <summary>
/// Marks a data directory as in use by a running node, and tells other processes (the admin
/// command) where that node's cluster endpoint is. The lock is an exclusive file lock held
/// for the node's lifetime, so a crashed node never leaves a stale lock behind.
/// </summary>
public sealed class NodeLock : IDisposable
{
    private const string LockFile = "node.lock";
    private const string AddressFile = "node.address";
    private readonly FileStream _lock;
    private readonly string _dataDirectory;

    private NodeLock(FileStream @lock, string dataDirectory)
    {
        _lock = @lock;
        _dataDirectory = dataDirectory;
    }

    public static NodeLock? TryAcquire(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        try
        {
            var stream = new FileStream(Path.Combine(dataDirectory, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new NodeLock(stream, dataDirectory);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void PublishAddress(string hostPort) => File.WriteAllText(Path.Combine(_dataDirectory, AddressFile), hostPort);

    /// <summary>The host:port of the node running on this data directory, or null if none runs.</summary>
    public static string? RunningNodeAddress(string dataDirectory)
    {
        using var probe = TryAcquire(dataDirectory);
        if (probe is not null) return null;
        var file = Path.Combine(dataDirectory, AddressFile);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    public void Dispose()
    {
        try { File.Delete(Path.Combine(_dataDirectory, AddressFile)); } catch (IOException) { }
        _lock.Dispose();
    }
}
