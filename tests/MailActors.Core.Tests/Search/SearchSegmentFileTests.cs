using MailActors.Core.Search;
using Xunit;

namespace MailActors.Core.Tests.Search;

public class SearchSegmentFileTests
{
    private static readonly MailboxId Alice = MailboxId.Parse("alice@example.com");

    private static MessageIndex Index()
    {
        var index = new MessageIndex();
        index.Add(7, new IndexedMessage("bob@example.org", ["alice@example.com"], [], "Quarterly report", "the numbers are in", ["q3.pdf"]));
        return index;
    }

    [Fact]
    public void A_segment_reads_back_for_its_owner()
    {
        var index = Index();
        var read = SearchSegmentFile.Read(Alice, SearchSegmentFile.Write(Alice, index));
        Assert.Equal(index.Serialize(), read.Serialize());
    }

    [Fact]
    public void The_same_index_of_two_mailboxes_is_two_different_blobs()
    {
        var index = Index();
        var bob = MailboxId.Parse("bob@example.com");
        Assert.NotEqual(BlobId.Of(SearchSegmentFile.Write(Alice, index)), BlobId.Of(SearchSegmentFile.Write(bob, index)));
    }

    [Fact]
    public void Another_mailboxs_segment_or_garbage_is_refused()
    {
        var bytes = SearchSegmentFile.Write(MailboxId.Parse("bob@example.com"), Index());
        Assert.Throws<InvalidDataException>(() => SearchSegmentFile.Read(Alice, bytes));
        Assert.Throws<InvalidDataException>(() => SearchSegmentFile.Read(Alice, [1, 2, 3]));
        Assert.Throws<InvalidDataException>(() => SearchSegmentFile.Read(Alice, bytes[..8]));
        var alices = SearchSegmentFile.Write(Alice, Index());
        Assert.Throws<InvalidDataException>(() => SearchSegmentFile.Read(Alice, alices[..^3]));
    }
}
