using MailActors.Core;

namespace MailActors.Storage.Blobs;

/// <summary>
/// Content-addressed store of raw messages: a blob's id is the SHA-256 of its bytes, so the
/// same message stored twice (one mail to many local recipients) is kept once.
/// </summary>
public interface IBlobStore
{
    /// <summary>
    /// Streams <paramref name="content"/> into the store (never buffering the whole message) and
    /// returns its id and uncompressed size. When the task completes the blob is durable: its
    /// data is fsynced, it was renamed into place atomically and its directory was fsynced.
    /// </summary>
    Task<BlobWriteResult> PutAsync(Stream content, CancellationToken cancellationToken = default);

    /// <summary>
    /// A read-only stream of the original bytes. Reading it verifies the SHA-256 and length as
    /// it goes: a mismatch or a damaged file throws <see cref="BlobCorruptedException"/> (at the
    /// latest on the read that would return the last bytes), never silently returns wrong bytes.
    /// A missing blob throws <see cref="BlobNotFoundException"/>.
    /// </summary>
    Task<Stream> OpenReadAsync(BlobId id, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(BlobId id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes a blob; false if it wasn't there. Content addressing means every holder of the
    /// same bytes shares one blob, so only content nobody else can have (a mailbox's own index
    /// segments) may be deleted this way.
    /// </summary>
    Task<bool> DeleteAsync(BlobId id, CancellationToken cancellationToken = default);
}

/// <param name="Id">SHA-256 of the content.</param>
/// <param name="Size">Uncompressed size in bytes.</param>
/// <param name="Deduplicated">True when the store already held this content and nothing new was kept.</param>
public sealed record BlobWriteResult(BlobId Id, long Size, bool Deduplicated);

/// <summary>A stored blob is damaged: its bytes do not hash to its id, or its file cannot be decoded.</summary>
public sealed class BlobCorruptedException : IOException
{
    public BlobCorruptedException(BlobId id, string reason)
        : this(id, reason, null)
    {
    }

    public BlobCorruptedException(BlobId id, string reason, Exception? innerException)
        : base($"Blob {id} is corrupted: {reason}", innerException)
    {
        Id = id;
        Reason = reason;
    }

    public BlobId Id { get; }

    public string Reason { get; }
}

/// <summary>The store holds no blob with this id.</summary>
public sealed class BlobNotFoundException : IOException
{
    public BlobNotFoundException(BlobId id)
        : this(id, null)
    {
    }

    public BlobNotFoundException(BlobId id, Exception? innerException)
        : base($"Blob {id} was not found", innerException)
    {
        Id = id;
    }

    public BlobId Id { get; }
}
