using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MailActors.Core;
using ZstdSharp;

namespace MailActors.Storage.Blobs;

/// <summary>
/// Blob store on the local file system: one zstd-compressed file per distinct message at
/// <c>&lt;root&gt;/&lt;hex[0..2]&gt;/&lt;hex[2..4]&gt;/&lt;hex&gt;.zst</c>, written to <c>&lt;root&gt;/tmp/</c>
/// first and moved into place once fsynced, so a crash never leaves a partial blob under its
/// final name. On Linux the move is link(2) + unlink(2) rather than rename(2): link fails if
/// the name exists, so of several writers racing with the same content exactly one stores it
/// and the others report <see cref="BlobWriteResult.Deduplicated"/>. The directory is fsynced
/// after the link (and each fan-out directory's parent once per process), so a completed
/// <see cref="PutAsync"/> survives a crash.
/// </summary>
/// <remarks>
/// File format (all integers big-endian, like <see cref="BlobId"/>):
/// <code>
/// offset  size  field
///      0     4  magic "MABL"
///      4     1  format version (1)
///      5    32  SHA-256 of the uncompressed content (the blob id)
///     37     8  uncompressed length in bytes
///     45     …  one zstd frame holding the content, to the end of the file
/// </code>
/// The header is written as zeros first and filled in once the content has been streamed
/// through, before the file is fsynced; a temp file is never moved into place before that.
/// </remarks>
public sealed class FileBlobStore : IBlobStore
{
    internal const int HeaderLength = 4 + 1 + BlobId.ByteLength + 8;
    private const byte FormatVersion = 1;
    private const int ChunkSize = 64 * 1024;
    private const string TempDirectoryName = "tmp";
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromHours(1);
    private static ReadOnlySpan<byte> Magic => "MABL"u8;

    private readonly string _root;
    private readonly string _tempDirectory;
    private readonly int _compressionLevel;

    // Fan-out directories known to exist with their entries fsynced by this instance, so
    // their parents are fsynced once per process, not once per blob. Level 1 is indexed by
    // the first byte of the hash, level 2 by the first two.
    private readonly bool[] _durableLevel1 = new bool[256];
    private readonly bool[] _durableLevel2 = new bool[256 * 256];

    public FileBlobStore(string rootDirectory, int compressionLevel = 3)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(compressionLevel, Compressor.MinCompressionLevel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(compressionLevel, Compressor.MaxCompressionLevel);

        _root = Path.GetFullPath(rootDirectory);
        _tempDirectory = Path.Combine(_root, TempDirectoryName);
        _compressionLevel = compressionLevel;

        Directory.CreateDirectory(_tempDirectory);
        Posix.FsyncDirectory(_root);
        var parent = Path.GetDirectoryName(_root);
        if (parent is not null) Posix.TryFsyncDirectory(parent);

        DeleteStaleTempFiles();
    }

    public string RootDirectory => _root;

    public async Task<BlobWriteResult> PutAsync(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();

        var tempPath = Path.Combine(_tempDirectory, $"{Guid.NewGuid():N}.tmp");
        var tempCreated = false;
        try
        {
            BlobId id;
            long size;
            string finalDirectory;
            string finalPath;

            var file = new FileStream(tempPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                BufferSize = 0, // the compressor already writes in large chunks
            });
            tempCreated = true;
            await using (file.ConfigureAwait(false))
            {
                var header = new byte[HeaderLength];
                await file.WriteAsync(header, cancellationToken).ConfigureAwait(false); // placeholder

                (id, size) = await CompressAsync(content, file, cancellationToken).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();

                WriteHeader(header, id, size);
                file.Position = 0;
                await file.WriteAsync(header, CancellationToken.None).ConfigureAwait(false);

                var hex = id.ToString();
                finalDirectory = EnsureDirectory(id, hex);
                finalPath = Path.Combine(finalDirectory, hex + ".zst");

                if (File.Exists(finalPath))
                {
                    // Already stored (and fsynced before it was linked into place by whoever
                    // stored it): no need to fsync our copy, it is thrown away.
                    file.Close();
                    DeleteQuietly(tempPath);
                    tempCreated = false;
                    Posix.FsyncDirectory(finalDirectory); // in case that writer has not fsynced the entry yet
                    return new BlobWriteResult(id, size, Deduplicated: true);
                }

                file.Flush(flushToDisk: true);
            }

            // The temp file is deleted in the finally block: after a link it is a second name.
            var deduplicated = !Posix.LinkNoReplace(tempPath, finalPath);
            Posix.FsyncDirectory(finalDirectory);
            return new BlobWriteResult(id, size, deduplicated);
        }
        finally
        {
            if (tempCreated) DeleteQuietly(tempPath);
        }
    }

    public async Task<Stream> OpenReadAsync(BlobId id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        FileStream file;
        try
        {
            file = new FileStream(PathFor(id), new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                BufferSize = 0, // the decompressor reads in large chunks
            });
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(id, ex);
        }

        try
        {
            var header = new byte[HeaderLength];
            var read = await file.ReadAtLeastAsync(header, HeaderLength, throwOnEndOfStream: false, cancellationToken)
                .ConfigureAwait(false);
            if (read < HeaderLength)
                throw new BlobCorruptedException(id, $"the file is {read} bytes, shorter than its {HeaderLength}-byte header");
            var length = ReadHeader(id, header);
            return new VerifyingBlobStream(id, file, length);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task<bool> ExistsAsync(BlobId id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(File.Exists(PathFor(id)));
    }

    public Task<bool> DeleteAsync(BlobId id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathFor(id);
        if (!File.Exists(path)) return Task.FromResult(false);
        File.Delete(path); // no directory fsync: a delete lost in a crash only leaves garbage behind
        return Task.FromResult(true);
    }

    private string PathFor(BlobId id)
    {
        var hex = id.ToString();
        return Path.Combine(_root, hex[..2], hex[2..4], hex + ".zst");
    }

    private async Task<(BlobId Id, long Size)> CompressAsync(Stream content, Stream destination, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var zstd = new CompressionStream(destination, _compressionLevel, leaveOpen: true);
        try
        {
            long size = 0;
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(0, ChunkSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await zstd.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                size += read;
            }

            await zstd.DisposeAsync().ConfigureAwait(false); // ends the zstd frame

            Span<byte> digest = stackalloc byte[BlobId.ByteLength];
            hash.GetHashAndReset(digest);
            return (BlobId.FromHash(digest), size);
        }
        catch
        {
            // The temp file is deleted by the caller; only release the compressor.
            try { zstd.Dispose(); } catch (Exception) { /* already failing */ }
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void WriteHeader(Span<byte> header, BlobId id, long size)
    {
        Magic.CopyTo(header);
        header[4] = FormatVersion;
        id.WriteTo(header.Slice(5, BlobId.ByteLength));
        BinaryPrimitives.WriteInt64BigEndian(header.Slice(5 + BlobId.ByteLength, 8), size);
    }

    /// <returns>The uncompressed length recorded in the header.</returns>
    private static long ReadHeader(BlobId id, ReadOnlySpan<byte> header)
    {
        if (!header[..4].SequenceEqual(Magic))
            throw new BlobCorruptedException(id, "the file does not start with the blob magic bytes");
        if (header[4] != FormatVersion)
            throw new BlobCorruptedException(id, $"unknown format version {header[4]}");
        if (BlobId.FromHash(header.Slice(5, BlobId.ByteLength)) != id)
            throw new BlobCorruptedException(id, "the file holds a different blob (hash in its header differs)");
        var length = BinaryPrimitives.ReadInt64BigEndian(header.Slice(5 + BlobId.ByteLength, 8));
        if (length < 0)
            throw new BlobCorruptedException(id, $"negative length {length} in its header");
        return length;
    }

    private string EnsureDirectory(BlobId id, string hex)
    {
        var level1 = Path.Combine(_root, hex[..2]);
        var level2 = Path.Combine(level1, hex[2..4]);
        var index2 = (int)(id.A >> 48); // the first two bytes of the hash: hex[0..4]
        if (Volatile.Read(ref _durableLevel2[index2])) return level2;

        // Another writer may have just created these directories and not fsynced their parents
        // yet, so existing is not enough: fsync the parents once ourselves.
        Directory.CreateDirectory(level2);
        Posix.FsyncDirectory(level1); // makes level2's entry durable
        var index1 = index2 >> 8;
        if (!Volatile.Read(ref _durableLevel1[index1]))
        {
            Posix.FsyncDirectory(_root); // makes level1's entry durable
            Volatile.Write(ref _durableLevel1[index1], true);
        }
        Volatile.Write(ref _durableLevel2[index2], true);
        return level2;
    }

    private void DeleteStaleTempFiles()
    {
        var cutoff = DateTime.UtcNow - StaleTempAge;
        foreach (var path in Directory.EnumerateFiles(_tempDirectory))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(path) < cutoff) File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: another process may be cleaning up too.
            }
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the stale temp file sweep at the next start.
        }
    }

    /// <summary>The POSIX calls .NET does not expose: directory fsync and a no-replace link.</summary>
    private static class Posix
    {
        private const int EPERM = 1;
        private const int EINTR = 4;
        private const int EEXIST = 17;
        private const int EXDEV = 18;
        private const int EINVAL = 22;
        private const int EMLINK = 31;
        private const int ENOSYS = 38;
        private const int EOPNOTSUPP = 95;
        private const int O_RDONLY = 0;
        private const int O_CLOEXEC = 0x80000;

        // O_DIRECTORY is 0200000 (octal) on most Linux architectures but 040000 on arm, arm64 and powerpc.
        private static readonly int O_DIRECTORY = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le => 0x4000,
            _ => 0x10000,
        };

        /// <summary>fsync(2) of a directory, so the entries created or renamed in it survive a crash. Linux only.</summary>
        public static void FsyncDirectory(string directory)
        {
            if (!OperatingSystem.IsLinux()) return;

            int fd;
            while ((fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR) throw Error("open", directory, errno);
            }

            try
            {
                while (fsync(fd) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR) continue;
                    if (errno == EINVAL) return; // a file system that cannot fsync a directory
                    throw Error("fsync", directory, errno);
                }
            }
            finally
            {
                close(fd);
            }
        }

        public static void TryFsyncDirectory(string directory)
        {
            try
            {
                FsyncDirectory(directory);
            }
            catch (IOException)
            {
                // Best effort (e.g. a parent directory we may not open).
            }
        }

        /// <summary>
        /// Gives <paramref name="source"/> the name <paramref name="destination"/> unless that
        /// name exists, atomically. The source keeps its name too; the caller deletes it.
        /// </summary>
        /// <returns>False if <paramref name="destination"/> already existed.</returns>
        public static bool LinkNoReplace(string source, string destination)
        {
            if (OperatingSystem.IsLinux())
            {
                while (true)
                {
                    if (link(source, destination) == 0) return true;
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR) continue;
                    if (errno == EEXIST) return false;
                    if (errno is EPERM or EXDEV or EMLINK or ENOSYS or EOPNOTSUPP) break; // no hard links here
                    throw Error("link", destination, errno);
                }
            }

            // Without link(2). On Unix, File.Move(overwrite: false) checks for the destination and
            // then renames, so two writers racing on the same content may both "win": the file is
            // still whole (the same bytes either way), only Deduplicated can be false for both.
            try
            {
                File.Move(source, destination, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(destination))
            {
                return false;
            }
        }

        private static IOException Error(string call, string path, int errno) =>
            new($"{call}(\"{path}\") failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");

#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks in the project
        [DllImport("libc", SetLastError = true)]
        private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string pathname, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        private static extern int link(
            [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
#pragma warning restore SYSLIB1054
    }

    /// <summary>
    /// Decompresses a blob as it is read and checks its length and SHA-256: the read that
    /// would return the last bytes throws instead if they do not hash to the id.
    /// </summary>
    private sealed class VerifyingBlobStream : Stream
    {
        private readonly BlobId _id;
        private readonly FileStream _file;
        private readonly DecompressionStream _zstd;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly long _expectedLength;
        private readonly byte[] _probe = new byte[1];
        private long _position;
        private bool _hashChecked;
        private bool _endReached;
        private string? _failure;
        private bool _disposed;

        public VerifyingBlobStream(BlobId id, FileStream file, long expectedLength)
        {
            _id = id;
            _file = file;
            _expectedLength = expectedLength;
            _zstd = new DecompressionStream(file, bufferSize: 0, checkEndOfStream: true, leaveOpen: true);
        }

        public override bool CanRead => !_disposed;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (!BeforeRead(buffer.Length, out var result)) return result;

            if (_position == _expectedLength)
            {
                int extra;
                try { extra = _zstd.Read(_probe); }
                catch (Exception ex) when (IsDecodingFailure(ex)) { throw Fail("its compressed data cannot be decoded", ex); }
                return AtExpectedEnd(extra);
            }

            int read;
            try { read = _zstd.Read(buffer); }
            catch (Exception ex) when (IsDecodingFailure(ex)) { throw Fail("its compressed data cannot be decoded", ex); }
            return Account(buffer[..read]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!BeforeRead(buffer.Length, out var result)) return result;

            if (_position == _expectedLength)
            {
                int extra;
                try { extra = await _zstd.ReadAsync(_probe, cancellationToken).ConfigureAwait(false); }
                catch (Exception ex) when (IsDecodingFailure(ex)) { throw Fail("its compressed data cannot be decoded", ex); }
                return AtExpectedEnd(extra);
            }

            int read;
            try { read = await _zstd.ReadAsync(buffer, cancellationToken).ConfigureAwait(false); }
            catch (Exception ex) when (IsDecodingFailure(ex)) { throw Fail("its compressed data cannot be decoded", ex); }
            return Account(buffer.Span[..read]);
        }

        /// <returns>False with the result to return when no decompression is needed.</returns>
        private bool BeforeRead(int length, out int result)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_failure is not null) throw new BlobCorruptedException(_id, _failure);
            result = 0;
            if (_endReached || length == 0) return false;
            if (_position == _expectedLength && !_hashChecked) CheckHash(); // an empty blob
            return true;
        }

        private int Account(ReadOnlySpan<byte> chunk)
        {
            if (chunk.IsEmpty)
                throw Fail($"its content ends after {_position} bytes, its header says {_expectedLength}");
            if (chunk.Length > _expectedLength - _position)
                throw Fail($"its content is longer than the {_expectedLength} bytes its header says");

            _hash.AppendData(chunk);
            _position += chunk.Length;
            // Verify before handing out the last bytes, so a reader that stops at the known
            // length (or copies to a socket) never receives a wrong message's complete content.
            if (_position == _expectedLength) CheckHash();
            return chunk.Length;
        }

        private int AtExpectedEnd(int extraBytes)
        {
            if (extraBytes != 0)
                throw Fail($"its content is longer than the {_expectedLength} bytes its header says");
            _endReached = true;
            return 0;
        }

        private void CheckHash()
        {
            Span<byte> digest = stackalloc byte[BlobId.ByteLength];
            _hash.GetHashAndReset(digest);
            _hashChecked = true;
            if (BlobId.FromHash(digest) != _id)
                throw Fail("its content does not match its SHA-256");
        }

        private BlobCorruptedException Fail(string reason, Exception? inner = null)
        {
            _failure = reason;
            return new BlobCorruptedException(_id, reason, inner);
        }

        // Anything the decoder throws means damaged data, except cancellation, disposal and
        // genuine I/O errors from the file system (EndOfStreamException is zstd's "truncated").
        private static bool IsDecodingFailure(Exception ex) => ex switch
        {
            OperationCanceledException or ObjectDisposedException or OutOfMemoryException => false,
            EndOfStreamException => true,
            IOException => false,
            _ => true,
        };

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                _zstd.Dispose();
                _file.Dispose();
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                _zstd.Dispose();
                await _file.DisposeAsync().ConfigureAwait(false);
                _hash.Dispose();
            }
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
