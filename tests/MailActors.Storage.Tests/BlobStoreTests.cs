using System.Security.Cryptography;
using System.Text;
using MailActors.Core;
using MailActors.Storage.Blobs;
using Xunit;

namespace MailActors.Storage.Tests;

public sealed class BlobStoreTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("mailactors-blobs-");
    private readonly FileBlobStore _store;

    public BlobStoreTests()
    {
        _store = new FileBlobStore(_root.FullName);
    }

    public void Dispose()
    {
        try { _root.Delete(recursive: true); }
        catch (IOException) { /* best effort */ }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(50 * 1024)]
    [InlineData(5 * 1024 * 1024)]
    public async Task Random_content_round_trips_with_its_sha256_as_id(int size)
    {
        var content = RandomBytes(size, seed: size);

        var result = await _store.PutAsync(new MemoryStream(content));

        Assert.Equal(BlobId.Of(content), result.Id);
        Assert.Equal(size, result.Size);
        Assert.False(result.Deduplicated);
        Assert.True(await _store.ExistsAsync(result.Id));
        Assert.Equal(content, await ReadAllAsync(result.Id));
        Assert.Equal(content, ReadAllSync(result.Id));
    }

    [Fact]
    public async Task Mail_like_text_is_stored_compressed_and_round_trips()
    {
        var content = MailText(200 * 1024, seed: 7);

        var result = await _store.PutAsync(new MemoryStream(content));

        Assert.Equal(content, await ReadAllAsync(result.Id));
        var file = Assert.Single(BlobFiles());
        Assert.True(new FileInfo(file).Length < content.Length / 2, $"stored {new FileInfo(file).Length} bytes for {content.Length}");
    }

    [Fact]
    public async Task Storing_the_same_content_twice_keeps_one_file()
    {
        var content = MailText(50 * 1024, seed: 1);

        var first = await _store.PutAsync(new MemoryStream(content));
        var second = await _store.PutAsync(new MemoryStream(content));

        Assert.False(first.Deduplicated);
        Assert.True(second.Deduplicated);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(first.Size, second.Size);
        Assert.Single(BlobFiles());
        Assert.Empty(TempFiles());
        Assert.Equal(content, await ReadAllAsync(first.Id));
    }

    [Fact]
    public async Task Concurrent_writers_of_the_same_content_all_succeed_with_one_file()
    {
        var content = MailText(300 * 1024, seed: 2);

        var results = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(_ => Task.Run(() => _store.PutAsync(new MemoryStream(content)))));

        Assert.All(results, r => Assert.Equal(BlobId.Of(content), r.Id));
        Assert.All(results, r => Assert.Equal(content.Length, r.Size));
        Assert.Single(results, r => !r.Deduplicated);
        Assert.Single(BlobFiles());
        Assert.Empty(TempFiles());
        Assert.Equal(content, await ReadAllAsync(results[0].Id));
    }

    [Fact]
    public async Task Concurrent_writers_of_different_content_all_round_trip()
    {
        var contents = Enumerable.Range(0, 32).Select(i => MailText(20 * 1024 + i * 997, seed: 100 + i)).ToArray();

        var results = await Task.WhenAll(contents
            .Select(c => Task.Run(() => _store.PutAsync(new MemoryStream(c)))));

        Assert.Equal(contents.Length, results.Select(r => r.Id).Distinct().Count());
        Assert.Equal(contents.Length, BlobFiles().Length);
        Assert.Empty(TempFiles());
        for (var i = 0; i < contents.Length; i++)
        {
            Assert.Equal(BlobId.Of(contents[i]), results[i].Id);
            Assert.Equal(contents[i], await ReadAllAsync(results[i].Id));
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public async Task A_flipped_byte_in_the_stored_file_is_detected(bool compressible, bool asyncRead)
    {
        var content = compressible ? MailText(50 * 1024, seed: 3) : RandomBytes(50 * 1024, seed: 3);
        var id = (await _store.PutAsync(new MemoryStream(content))).Id;
        var path = Assert.Single(BlobFiles());
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(path, bytes);

        var ex = await Assert.ThrowsAsync<BlobCorruptedException>(() => asyncRead ? ReadAllAsync(id) : Task.FromResult(ReadAllSync(id)));
        Assert.Equal(id, ex.Id);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_truncated_file_is_detected(bool asyncRead)
    {
        var content = MailText(50 * 1024, seed: 4);
        var id = (await _store.PutAsync(new MemoryStream(content))).Id;
        var path = Assert.Single(BlobFiles());
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
            file.SetLength(file.Length - 10);

        await Assert.ThrowsAsync<BlobCorruptedException>(() => asyncRead ? ReadAllAsync(id) : Task.FromResult(ReadAllSync(id)));
    }

    [Fact]
    public async Task A_file_truncated_inside_its_header_is_detected()
    {
        var id = (await _store.PutAsync(new MemoryStream(MailText(1024, seed: 5)))).Id;
        var path = Assert.Single(BlobFiles());
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
            file.SetLength(10);

        await Assert.ThrowsAsync<BlobCorruptedException>(() => ReadAllAsync(id));
    }

    [Fact]
    public async Task A_file_swapped_under_another_blobs_name_is_detected()
    {
        var x = (await _store.PutAsync(new MemoryStream(MailText(10 * 1024, seed: 6)))).Id;
        var y = (await _store.PutAsync(new MemoryStream(MailText(10 * 1024, seed: 7)))).Id;
        var files = BlobFiles();
        var pathX = files.Single(f => Path.GetFileName(f).StartsWith(x.ToString(), StringComparison.Ordinal));
        var pathY = files.Single(f => Path.GetFileName(f).StartsWith(y.ToString(), StringComparison.Ordinal));
        File.Move(pathX, pathY, overwrite: true);

        var ex = await Assert.ThrowsAsync<BlobCorruptedException>(() => ReadAllAsync(y));
        Assert.Equal(y, ex.Id);
    }

    [Fact]
    public async Task A_swapped_file_with_a_matching_header_is_still_detected_by_the_content_hash()
    {
        // Worst case: the header claims Y but the compressed content is X's.
        var x = (await _store.PutAsync(new MemoryStream(MailText(10 * 1024, seed: 8)))).Id;
        var y = (await _store.PutAsync(new MemoryStream(MailText(10 * 1024, seed: 9)))).Id;
        var files = BlobFiles();
        var pathX = files.Single(f => Path.GetFileName(f).StartsWith(x.ToString(), StringComparison.Ordinal));
        var pathY = files.Single(f => Path.GetFileName(f).StartsWith(y.ToString(), StringComparison.Ordinal));
        var bytesX = await File.ReadAllBytesAsync(pathX);
        var bytesY = await File.ReadAllBytesAsync(pathY);
        bytesY.AsSpan(0, 45).CopyTo(bytesX); // Y's header on X's data (same length)
        await File.WriteAllBytesAsync(pathY, bytesX);

        await Assert.ThrowsAsync<BlobCorruptedException>(() => ReadAllAsync(y));
        await Assert.ThrowsAsync<BlobCorruptedException>(() => Task.FromResult(ReadAllSync(y)));
    }

    [Fact]
    public async Task A_reader_that_stops_at_the_known_length_still_gets_the_error()
    {
        var content = RandomBytes(50 * 1024, seed: 10);
        var result = await _store.PutAsync(new MemoryStream(content));
        var path = Assert.Single(BlobFiles());
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^100] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);

        await using var stream = await _store.OpenReadAsync(result.Id);
        var buffer = new byte[result.Size];
        await Assert.ThrowsAsync<BlobCorruptedException>(() => stream.ReadExactlyAsync(buffer).AsTask());
    }

    [Fact]
    public async Task A_missing_blob_is_reported_as_not_found()
    {
        var id = BlobId.Of("never stored"u8);

        Assert.False(await _store.ExistsAsync(id));
        var ex = await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenReadAsync(id));
        Assert.Equal(id, ex.Id);
    }

    [Fact]
    public async Task Content_from_a_non_seekable_stream_is_stored()
    {
        var content = MailText(150 * 1024, seed: 11);

        var result = await _store.PutAsync(new NonSeekableStream(new MemoryStream(content)));

        Assert.Equal(BlobId.Of(content), result.Id);
        Assert.Equal(content.Length, result.Size);
        Assert.Equal(content, await ReadAllAsync(result.Id));
    }

    [Fact]
    public async Task A_cancelled_put_throws_and_leaves_no_files()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _store.PutAsync(new MemoryStream(MailText(10 * 1024, seed: 12)), cts.Token));

        Assert.Empty(BlobFiles());
        Assert.Empty(TempFiles());
    }

    [Fact]
    public async Task A_put_cancelled_while_streaming_throws_and_leaves_no_files()
    {
        using var cts = new CancellationTokenSource();
        var content = new NonSeekableStream(new MemoryStream(MailText(1024 * 1024, seed: 13)), afterFirstRead: cts.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.PutAsync(content, cts.Token));

        Assert.Empty(BlobFiles());
        Assert.Empty(TempFiles());
    }

    [Fact]
    public async Task Stale_temp_files_are_swept_at_start_and_fresh_ones_kept()
    {
        var tmp = Path.Combine(_root.FullName, "tmp");
        var stale = Path.Combine(tmp, "stale.tmp");
        var fresh = Path.Combine(tmp, "fresh.tmp");
        await File.WriteAllTextAsync(stale, "left by a crash");
        await File.WriteAllTextAsync(fresh, "being written by another process");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));

        _ = new FileBlobStore(_root.FullName);

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
    }

    [Fact]
    public async Task Files_are_laid_out_by_hash_prefix()
    {
        var result = await _store.PutAsync(new MemoryStream("hello"u8.ToArray()));
        var hex = result.Id.ToString();

        Assert.True(File.Exists(Path.Combine(_root.FullName, hex[..2], hex[2..4], hex + ".zst")));
    }

    private async Task<byte[]> ReadAllAsync(BlobId id)
    {
        await using var stream = await _store.OpenReadAsync(id);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private byte[] ReadAllSync(BlobId id)
    {
        using var stream = _store.OpenReadAsync(id).GetAwaiter().GetResult();
        using var copy = new MemoryStream();
        var buffer = new byte[7919]; // odd size, to cross chunk boundaries
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0) copy.Write(buffer, 0, read);
        return copy.ToArray();
    }

    private string[] BlobFiles() =>
        Directory.GetFiles(_root.FullName, "*.zst", SearchOption.AllDirectories);

    private string[] TempFiles() =>
        Directory.GetFiles(Path.Combine(_root.FullName, "tmp"));

    private static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static readonly string[] Words =
    [
        "the", "meeting", "is", "moved", "to", "Thursday", "please", "find", "attached", "report",
        "regards", "quarterly", "numbers", "and", "let", "me", "know", "if", "you", "have", "questions",
    ];

    private static byte[] MailText(int size, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder(size + 64);
        text.Append($"From: sender{seed}@example.com\r\nTo: rcpt@example.org\r\nSubject: message {seed}\r\n\r\n");
        while (text.Length < size)
        {
            text.Append(Words[random.Next(Words.Length)]);
            text.Append(random.Next(12) == 0 ? "\r\n" : " ");
        }
        return Encoding.ASCII.GetBytes(text.ToString(0, size));
    }

    /// <summary>A read-only, forward-only view of a stream, like a socket or a pipe.</summary>
    private sealed class NonSeekableStream(Stream inner, Action? afterFirstRead = null) : Stream
    {
        private Action? _afterFirstRead = afterFirstRead;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, Math.Min(count, 4096));
            Interlocked.Exchange(ref _afterFirstRead, null)?.Invoke();
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, 4096)], cancellationToken);
            Interlocked.Exchange(ref _afterFirstRead, null)?.Invoke();
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
