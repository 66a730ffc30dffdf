using MailActors.Core.Search;
using Xunit;

namespace MailActors.Core.Tests.Search;

public class TokenizerTests
{
    private static string[] Terms(string text) => Tokenizer.Terms(text).ToArray();

    [Theory]
    [InlineData("Müller")]
    [InlineData("muller")]
    [InlineData("MÜLLER")]
    [InlineData("Mu\u0308ller")] // decomposed ü, as some mail clients send it
    [InlineData("ＭＵＬＬＥＲ")] // full-width
    public void Case_and_diacritics_fold_to_one_term(string word) => Assert.Equal(["muller"], Terms(word));

    [Fact]
    public void Accented_words_fold_to_their_plain_spelling()
    {
        Assert.Equal(["naive", "cafe"], Terms("naïve café"));
        Assert.Equal(["creme", "brulee"], Terms("CRÈME BRÛLÉE"));
        Assert.Equal(["sao", "paulo", "zurich", "istanbul"], Terms("São Paulo, Zürich, İstanbul"));
        Assert.Equal(["dvorak", "ceske", "budejovice"], Terms("Dvořák (České Budějovice)"));
    }

    [Fact]
    public void Letters_without_a_decomposition_are_spelled_out()
    {
        Assert.Equal(["strasse", "strasse"], Terms("Straße STRASSE"));
        Assert.Equal(["aero", "lodz", "oresund", "thorn"], Terms("Ærø Łódź Øresund Þorn"));
        Assert.Equal(["office"], Terms("oﬃce"));
    }

    [Fact]
    public void Emoji_symbols_and_punctuation_separate_words()
    {
        Assert.Equal(["party", "time", "ok"], Terms("party🎉time 👍🏽 ok!!!"));
        Assert.Equal(["don", "t", "stop", "me", "now"], Terms("don't stop-me_now"));
        Assert.Empty(Terms("🎉 → ★ ... ---"));
        Assert.Empty(Terms(""));
        Assert.Empty(Tokenizer.Terms(null));
    }

    [Fact]
    public void Digits_are_words_too() =>
        Assert.Equal(["rfc", "5321", "v2", "٣٤"], Terms("RFC-5321 v2 ٣٤"));

    [Fact]
    public void Han_and_kana_are_one_term_per_character_hangul_words_stay_whole()
    {
        Assert.Equal(["東", "京", "都", "に", "住", "む"], Terms("東京都に住む"));
        Assert.Equal(["invoice", "請", "求", "書", "pdf"], Terms("invoice請求書.pdf"));
        Assert.Equal(["한국어", "검색"], Terms("한국어 검색"));
        Assert.Equal(["か"], Terms("か\u3099")); // a stray voicing mark doesn't make a term of its own
    }

    [Fact]
    public void Letters_outside_the_basic_plane_are_words_and_fold_case()
    {
        Assert.Equal(["𐐨𐐨"], Terms("𐐀𐐨")); // Deseret capital + small letter: surrogate pairs
        Assert.Equal(["𠀀", "𠀁"], Terms("𠀀𠀁")); // CJK extension B: one term per ideograph
    }

    [Fact]
    public void Terms_are_cut_at_64_characters_without_splitting_a_surrogate_pair()
    {
        Assert.Equal([new string('a', Tokenizer.MaxTermLength)], Terms(new string('A', 200)));
        var astral = string.Concat(Enumerable.Repeat("𐐨", 40)); // 80 UTF-16 units
        var term = Assert.Single(Terms("é" + astral));
        Assert.Equal(63, term.Length);
        Assert.False(char.IsHighSurrogate(term[^1]));
    }

    [Fact]
    public void An_address_is_split_into_words()
    {
        Assert.Equal(["bob", "smith", "example", "com"], Terms("bob.smith@example.com"));
        Assert.Equal(["bob", "smith", "bob", "smith", "mail", "example", "com"], Terms("Bob Smith <Bob.Smith@Mail.Example.com>"));
    }

    [Fact]
    public void Address_fields_also_get_the_whole_address_the_local_part_and_the_domains()
    {
        Assert.Equal(["bob.smith@mail.example.com", "bob.smith", "mail.example.com", "example.com"],
            Tokenizer.AddressTerms("Bob Smith <Bob.Smith@Mail.Example.com>"));
        // A one-word local part and a two-label domain add nothing the words don't have... except the address and the domain.
        Assert.Equal(["alice@example.com", "example.com"], Tokenizer.AddressTerms("\"Smith, Alice\" <alice@example.com>,"));
        Assert.Equal(["jurgen@munchen.de", "munchen.de"], Tokenizer.AddressTerms("Jürgen@München.de"));
        Assert.Equal(["a@x.org", "x.org", "b-c@y.org", "b-c", "y.org"], Tokenizer.AddressTerms("a@x.org, b-c@y.org."));
        Assert.Empty(Tokenizer.AddressTerms("no address here, just words. And a@ or @b or a@b@c"));
    }

    [Theory]
    [InlineData("Bob.Smith@Example.COM", "bob.smith@example.com")]
    [InlineData("<bob@example.com>", "bob@example.com")]
    [InlineData("example.com", "example.com")]
    [InlineData("@example.com", "example.com")]
    [InlineData("bob.smith", "bob.smith")]
    [InlineData("bob", null)]
    [InlineData("bob smith@x.com", null)]
    public void A_query_value_is_one_address_term_when_it_looks_like_one(string value, string? expected) =>
        Assert.Equal(expected, Tokenizer.AddressTerm(value));
}
