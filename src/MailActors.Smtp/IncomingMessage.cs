using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using MailActors.Core;
using MailActors.Storage.Blobs;

namespace MailActors.Smtp;

/// <summary>
/// A message body as it arrives: streamed at once into the blob store (behind the trace
/// headers this server adds) and into a spool file that MimeKit parses afterwards without
/// loading the message into memory. Also hashes the original content, which makes the
/// delivery id: a peer that retries the same message after a lost reply does not create a
/// second copy.
/// </summary>
internal sealed class IncomingMessage : IAsyncDisposable
{
    private readonly Pipe _toBlob = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
    private readonly Task<BlobWriteResult> _blobWrite;
    private readonly FileStream _spool;
    private readonly IncrementalHash _contentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _completed;

    public IncomingMessage(IBlobStore blobs, string spoolDirectory, ReadOnlyMemory<byte> traceHeaders)
    {
        Directory.CreateDirectory(spoolDirectory);
        SpoolPath = Path.Combine(spoolDirectory, $"{Guid.NewGuid():N}.eml");
        _spool = new FileStream(SpoolPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 64 * 1024, FileOptions.Asynchronous);
        var reader = _toBlob.Reader.AsStream();
        _blobWrite = Task.Run(() => blobs.PutAsync(reader));
        _toBlob.Writer.Write(traceHeaders.Span);
    }

    public string SpoolPath { get; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        if (content.IsEmpty) return;
        _contentHash.AppendData(content.Span);
        await _spool.WriteAsync(content, ct);
        var flush = await _toBlob.Writer.WriteAsync(content, ct);
        if (flush.IsCompleted) await _blobWrite; // the blob writer stopped: surface its error
    }

    /// <summary>Ends the body: the blob is durable when this returns.</summary>
    public async Task<(BlobWriteResult Blob, string ContentHash)> CompleteAsync()
    {
        _completed = true;
        await _spool.FlushAsync();
        await _toBlob.Writer.CompleteAsync();
        var blob = await _blobWrite;
        return (blob, Convert.ToHexStringLower(_contentHash.GetHashAndReset()));
    }

    /// <summary>Abandons the body: the blob store discards its temp file, the spool file is deleted.</summary>
    public async Task AbortAsync()
    {
        if (!_completed)
        {
            _completed = true;
            await _toBlob.Writer.CompleteAsync(new OperationCanceledException("message abandoned"));
            try { await _blobWrite; } catch (Exception) { /* expected */ }
        }
        await DisposeAsync();
        TryDeleteSpool(SpoolPath);
    }

    public static void TryDeleteSpool(string path)
    {
        try { File.Delete(path); } catch (IOException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _spool.DisposeAsync();
        _contentHash.Dispose();
    }
}
