namespace MailActors.Core.Search;

/// <summary>
/// An immutable index segment in the blob store: the serialized <see cref="MessageIndex"/> of
/// the messages with ids in [<paramref name="MinId"/>, <paramref name="MaxId"/>] that were
/// alive when it was written (<paramref name="Count"/> of them, <paramref name="Bytes"/> serialized).
/// </summary>
public sealed record SearchSegmentRef(BlobId Blob, long MinId, long MaxId, int Count, long Bytes);
