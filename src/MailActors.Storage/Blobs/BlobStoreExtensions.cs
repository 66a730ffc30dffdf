using System.IO.Pipelines;

namespace MailActors.Storage.Blobs;

public static class BlobStoreExtensions
{
    /// <summary>
    /// Stores what <paramref name="write"/> produces, streamed through a pipe straight into the
    /// store: no temp file and no in-memory copy of the whole content.
    /// </summary>
    public static async Task<BlobWriteResult> PutAsync(this IBlobStore blobs, Func<Stream, CancellationToken, Task> write, CancellationToken ct = default)
    {
        var pipe = new Pipe();
        var writing = Task.Run(async () =>
        {
            try
            {
                await using var stream = pipe.Writer.AsStream();
                await write(stream, ct);
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e);
            }
        }, ct);
        await using var reader = pipe.Reader.AsStream();
        var stored = await blobs.PutAsync(reader, ct);
        await writing;
        return stored;
    }
}
