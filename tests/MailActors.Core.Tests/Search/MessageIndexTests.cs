using MailActors.Core.Search;
using Xunit;

namespace MailActors.Core.Tests.Search;

public class MessageIndexTests
{
    private static readonly DateTimeOffset Jan1 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly MessageIndex _index = new();
    private readonly Dictionary<long, MessageFacts> _facts = [];

    private void Add(long id, string from = "someone@example.net", string subject = "", string body = "",
        string[]? to = null, string[]? cc = null, string[]? files = null, MessageFacts? facts = null)
    {
        _index.Add(id, new IndexedMessage(from, to ?? [], cc ?? [], subject, body, files ?? []));
        _facts[id] = facts ?? new MessageFacts("inbox", false, false, files is { Length: > 0 }, 1000, Jan1.AddDays(id));
    }

    private long[] Find(string text, int limit = 100, long? before = null, MessageIndex? index = null)
    {
        Assert.True(SearchQuery.TryParse(text, out var query, out var error), error);
        return (index ?? _index).Search(query, id => _facts.TryGetValue(id, out var f) ? f : null, limit, before).ToArray();
    }

    [Fact]
    public void Words_must_all_match_in_any_field_and_results_come_newest_first()
    {
        Add(1, subject: "Lunch on Friday", body: "pizza?");
        Add(2, from: "Pizza Place <orders@pizza.example>", subject: "Your order");
        Add(3, body: "Friday pizza is cancelled", files: ["menu.pdf"]);
        Add(4, subject: "nothing here");

        Assert.Equal([3L, 2, 1], Find("pizza "));
        Assert.Equal([3L, 1], Find("pizza friday "));
        Assert.Equal([3L], Find("menu "));
        Assert.Empty(Find("pizza nothing "));
    }

    [Fact]
    public void Pages_continue_below_the_last_id_of_the_previous_page()
    {
        for (var id = 1; id <= 1000; id++) Add(id, body: id % 3 == 0 ? "fizz" : "buzz");
        var all = Find("fizz ", limit: 1000);
        Assert.Equal(333, all.Length);
        Assert.Equal([999L, 996, 993], Find("fizz ", limit: 3));
        Assert.Equal([993L, 990, 987], Find("fizz ", limit: 3, before: 996));
        Assert.Equal([3L], Find("fizz ", limit: 3, before: 6));
        Assert.Empty(Find("fizz ", limit: 3, before: 3));
        Assert.Empty(Find("fizz ", limit: 0));
    }

    [Fact]
    public void Phrases_need_the_words_in_a_row_within_one_value()
    {
        Add(1, body: "The quarterly report is attached.");
        Add(2, body: "A report, quarterly as always.");
        Add(3, subject: "quarterly", body: "report");
        Add(4, to: ["Ann Quarterly <ann@x.org>", "Report Desk <desk@x.org>"]);
        Add(5, to: ["Quarterly Report <qr@x.org>"]);

        Assert.Equal([1L], Find("\"quarterly report\" -to:x.org "));
        Assert.Equal([5L, 1], Find("\"quarterly report\""));
        Assert.Equal([4L, 3, 2, 1], Find("\"report\" -to:qr@x.org quarterly "));
        Assert.Equal([1L], Find("body:\"quarterly report\""));
        Assert.Equal([5L], Find("to:\"quarterly report\""));
    }

    [Fact]
    public void The_word_being_typed_matches_as_a_prefix()
    {
        Add(1, subject: "Quarterly numbers");
        Add(2, subject: "Quartz watch");
        Add(3, subject: "quart of milk");

        Assert.Equal([3L, 2, 1], Find("quart"));
        Assert.Equal([3L], Find("quart "));
        Assert.Equal([1L], Find("subject:quarte"));
        Assert.Equal([1L], Find("\"quarterly num"));
        Assert.Empty(Find("\"quarterly num\""));
    }

    [Fact]
    public void Address_operators_match_the_address_its_domain_and_the_display_name()
    {
        Add(1, from: "Bob Smith <Bob.Smith@Mail.Example.com>");
        Add(2, from: "alice@example.com", to: ["bob.smith@example.org"]);
        Add(3, from: "Carol <carol@other.net>", cc: ["Bob Smith <bob.smith@mail.example.com>"]);

        Assert.Equal([1L], Find("from:bob.smith@mail.example.com "));
        Assert.Equal([2L, 1], Find("from:example.com "));
        Assert.Equal([1L], Find("from:mail.example.com "));
        Assert.Equal([1L], Find("from:bob.smith "));
        Assert.Equal([1L], Find("from:\"bob smith\" "));
        Assert.Equal([1L], Find("from:smith "));
        Assert.Equal([1L], Find("from:bob.smith@ma"));
        Assert.Equal([3L], Find("cc:@mail.example.com "));
        Assert.Equal([2L], Find("to:example.org "));
        Assert.Equal([3L, 2, 1], Find("bob.smith ")); // free words search every field
        Assert.Empty(Find("from:smith@mail.example.com "));
    }

    [Fact]
    public void Folding_makes_diacritics_and_case_irrelevant()
    {
        Add(1, from: "Jürgen Müller <jm@example.de>", subject: "Straße naïve café");
        foreach (var q in new[] { "muller ", "MÜLLER ", "strasse ", "STRASSE ", "naive cafe ", "from:jurgen " })
            Assert.Equal([1L], Find(q));
    }

    [Fact]
    public void Flags_folder_size_and_date_come_from_the_mailbox_at_query_time()
    {
        Add(1, subject: "invoice", facts: new MessageFacts("inbox", Read: false, Flagged: false, HasAttachment: true, 5_000, Jan1));
        Add(2, subject: "invoice", facts: new MessageFacts("archive", Read: true, Flagged: true, HasAttachment: false, 2_000_000, Jan1.AddDays(31)));

        Assert.Equal([1L], Find("invoice is:unread "));
        Assert.Equal([2L], Find("invoice is:read is:flagged"));
        Assert.Equal([1L], Find("has:attachment"));
        Assert.Equal([2L], Find("in:Archive"));
        Assert.Equal([2L], Find("larger:1M"));
        Assert.Equal([1L], Find("smaller:5001"));
        Assert.Empty(Find("smaller:5000"));
        Assert.Equal([1L], Find("before:2024-01-02"));
        Assert.Empty(Find("before:2024-01-01"));
        Assert.Equal([2L, 1], Find("after:2024-01-01"));
        Assert.Equal([2L], Find("after:2024-02-01"));
        Assert.Equal([2L], Find("-is:unread"));

        // Read on another device, then moved: no re-indexing, the next search sees it.
        _facts[1] = _facts[1] with { Read = true, FolderId = "archive" };
        Assert.Empty(Find("invoice is:unread "));
        Assert.Equal([2L, 1], Find("in:archive invoice "));
    }

    [Fact]
    public void Negation_excludes_words_fields_and_facts()
    {
        Add(1, from: "boss@work.example", subject: "meeting moved");
        Add(2, from: "friend@home.example", subject: "meeting for coffee");
        Add(3, from: "boss@work.example", subject: "budget");

        Assert.Equal([2L], Find("meeting -from:work.example "));
        Assert.Equal([3L], Find("-meeting "));
        Assert.Equal([1L], Find("meeting -coffee "));
        Assert.Equal([3L, 2], Find("-\"meeting moved\" "));
    }

    [Fact]
    public void Deleted_messages_are_gone_at_once_and_compaction_frees_their_postings()
    {
        var index = new MessageIndex(compactAfterRemoved: 50);
        for (var id = 1; id <= 100; id++)
        {
            index.Add(id, new IndexedMessage("a@x.org", [], [], "subject " + id, "shared words and unique" + id, []));
            _facts[id] = new MessageFacts("inbox", false, false, false, 1, Jan1);
        }
        var full = index.ApproximateBytes;

        Assert.True(index.Remove(100));
        Assert.False(index.Remove(100));
        Assert.False(index.Remove(12345));
        Assert.Equal(99, index.Count);
        Assert.Equal(99L, Find("shared ", limit: 1, index: index)[0]);
        Assert.Empty(Find("unique100 ", index: index));

        for (var id = 1; id < 50; id++) index.Remove(id); // 50 removed: compaction
        Assert.Equal(50, index.Count);
        Assert.True(index.ApproximateBytes < full * 0.75, $"{index.ApproximateBytes} vs {full}");
        Assert.Equal(Enumerable.Range(50, 50).Reverse().Select(i => (long)i), Find("shared ", index: index));
        Assert.Empty(Find("unique7 ", index: index));
    }

    [Fact]
    public void Adding_an_id_again_replaces_its_text_and_late_ids_are_fine()
    {
        Add(10, subject: "first draft");
        Add(20, subject: "other");
        Add(10, subject: "final version");
        Add(5, subject: "final notes"); // an older id arriving late (e.g. an import)

        Assert.Empty(Find("draft "));
        Assert.Equal([10L, 5], Find("final "));
        Assert.Equal(3, _index.Count);
    }

    [Fact]
    public void Messages_the_mailbox_no_longer_has_are_skipped()
    {
        Add(1, subject: "hello");
        Add(2, subject: "hello");
        _facts.Remove(2);
        Assert.Equal([1L], Find("hello "));
    }

    [Fact]
    public void Only_the_first_64K_characters_of_a_body_are_indexed()
    {
        var body = new string('x', MessageIndex.MaxBodyChars - 6) + " early" + " late";
        Add(1, body: body);
        Assert.Equal([1L], Find("early "));
        Assert.Empty(Find("late "));
    }

    [Fact]
    public void Serialized_index_answers_the_same_and_reserializes_to_the_same_bytes()
    {
        for (var id = 1; id <= 300; id++)
            Add(id, from: $"user{id % 7}@example.com", subject: $"report {id % 5}", body: $"body text number {id} Müller 東京", files: id % 4 == 0 ? ["a.pdf"] : null);
        _index.Remove(3);
        var bytes = _index.Serialize();
        var copy = MessageIndex.Deserialize(bytes);

        Assert.Equal(bytes, copy.Serialize());
        Assert.Equal(_index.Count, copy.Count);
        foreach (var q in new[] { "report ", "\"text number\" muller", "from:example.com has:attachment", "東京 -report", "numb", "3 " })
            Assert.Equal(Find(q), Find(q, index: copy));
    }

    [Fact]
    public void Corrupt_images_are_rejected()
    {
        Add(1, subject: "hello world", body: "some body");
        var bytes = _index.Serialize();

        Assert.Throws<InvalidDataException>(() => MessageIndex.Deserialize([]));
        Assert.Throws<InvalidDataException>(() => MessageIndex.Deserialize([1, 2, 3, 4, 5]));
        Assert.Throws<InvalidDataException>(() => MessageIndex.Deserialize(bytes[..^1]));
        Assert.Throws<InvalidDataException>(() => MessageIndex.Deserialize([.. bytes, 0]));
        var random = new Random(7);
        for (var i = 0; i < 2_000; i++)
        {
            var flipped = bytes.ToArray();
            flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                MessageIndex.Deserialize(flipped);
            }
            catch (InvalidDataException)
            {
                // The only acceptable failure.
            }
        }
    }

    [Fact]
    public void Memory_is_accounted()
    {
        Assert.InRange(_index.ApproximateBytes, 1, 2048);
        Add(1, from: "Bob <bob@example.com>", subject: "Quarterly report", body: string.Join(' ', Enumerable.Range(0, 300).Select(i => "word" + (i % 120))));
        var one = _index.ApproximateBytes;
        Add(2, from: "Bob <bob@example.com>", subject: "Quarterly report", body: string.Join(' ', Enumerable.Range(0, 300).Select(i => "word" + (i % 120))));
        var two = _index.ApproximateBytes;
        // The first message pays for its 130-odd terms; the second, with the same words, only for postings.
        Assert.InRange(one, 10_000, 60_000);
        Assert.InRange(two - one, 300, 3_000);
    }
}
