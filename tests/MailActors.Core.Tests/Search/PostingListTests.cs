using CsCheck;
using MailActors.Core.Search;
using Xunit;

namespace MailActors.Core.Tests.Search;

public class PostingListTests
{
    private static PostingList Build(IEnumerable<long> ids, bool positional = true)
    {
        var list = new PostingList(positional);
        foreach (var id in ids) list.Add(id, positional ? [(int)(id % 7), (int)(id % 7) + 3] : default);
        return list;
    }

    [Fact]
    public void Entries_come_back_in_order_with_their_positions_across_blocks()
    {
        var ids = Enumerable.Range(0, 1000).Select(i => 5L + i * i).ToList();
        var list = Build(ids);
        Assert.Equal(1000, list.Count);
        Assert.Equal(8, list.BlockCount);
        Assert.Equal(ids, list.Entries().Select(e => e.Id));
        Assert.All(list.Entries(), e => Assert.Equal([(int)(e.Id % 7), (int)(e.Id % 7) + 3], e.Positions));
        Assert.All(ids, id => Assert.True(list.Contains(id)));
        Assert.False(list.Contains(7));
        Assert.False(list.Contains(4));
        Assert.False(list.Contains(long.MaxValue));
    }

    [Fact]
    public void Small_gaps_take_one_byte_per_id()
    {
        var list = Build(Enumerable.Range(1, 10_000).Select(i => (long)i), positional: false);
        list.TrimExcess();
        // 10,000 one-byte gaps plus a full id at each block head; the skip table is ~1 KB.
        Assert.InRange(list.ApproximateBytes, 10_000, 12_500);
    }

    [Fact]
    public void Out_of_order_ids_and_removals_keep_the_list_sorted()
    {
        var list = Build([10, 20, 30]);
        list.Add(15, [1]);
        list.Add(5, [2]);
        list.Add(20, [9]); // same id again: replaces
        Assert.Equal([5L, 10, 15, 20, 30], list.Entries().Select(e => e.Id));
        Assert.Equal([9], list.Entries().Single(e => e.Id == 20).Positions);
        Assert.Equal(3, list.RemoveIds(new HashSet<long> { 10, 30, 99 }));
        Assert.Equal([5L, 15, 20], list.Entries().Select(e => e.Id));
        Assert.Equal(0, list.RemoveIds(new HashSet<long> { 5, 15, 20 }));
    }

    [Fact]
    public void Seeking_newest_first_finds_the_largest_id_at_or_below_each_target() =>
        Gen.Select(Gen.Long[0, 5_000].HashSet[0, 600], Gen.Long[-1, 5_100].Array[1, 60]).Sample((set, targets) =>
        {
            var ids = set.Order().ToList();
            var iterator = new PostingIterator(Build(ids));
            foreach (var target in targets.OrderDescending())
            {
                var expected = ids.LastOrDefault(id => id <= target, -1);
                Assert.Equal(expected, iterator.SeekAtMost(target));
                if (expected >= 0) Assert.Equal([(int)(expected % 7), (int)(expected % 7) + 3], iterator.Positions.ToArray());
            }
        }, iter: 300);

    [Fact]
    public void Loading_checks_the_bytes()
    {
        var w = new ByteWriter(16);
        Build([1, 2, 300]).WriteTo(w);
        var good = w.ToArray();
        var r = new ByteReader(good);
        Assert.Equal([1L, 2, 300], PostingList.ReadFrom(ref r, positional: true).Entries().Select(e => e.Id));

        Assert.Throws<InvalidDataException>(() => Read(good[..^1]));
        Assert.Throws<InvalidDataException>(() => Read([.. good, 0]));
        Assert.Throws<InvalidDataException>(() => Read([2, 4, 5, 0, 0, 0])); // second id not above the first (gap 0)
        Assert.Throws<InvalidDataException>(() => Read([1, 3, 5, 2, 1])); // position count larger than the bytes left
        return;

        static void Read(byte[] bytes)
        {
            var r = new ByteReader(bytes);
            var list = PostingList.ReadFrom(ref r, positional: true);
            if (!r.AtEnd) throw new InvalidDataException("trailing");
            GC.KeepAlive(list);
        }
    }
}
