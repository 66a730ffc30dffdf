using CsCheck;
using MailActors.Core.Search;
using Xunit;

namespace MailActors.Core.Tests.Search;

public class SearchQueryTests
{
    private static string Parsed(string text)
    {
        Assert.True(SearchQuery.TryParse(text, out var query, out var error), error);
        return query.ToString();
    }

    private static string Error(string? text)
    {
        Assert.False(SearchQuery.TryParse(text, out var query, out var error));
        Assert.Null(query);
        return error;
    }

    [Theory]
    [InlineData("hello World", "any:hello any:world*")]
    [InlineData("hello World ", "any:hello any:world")]
    [InlineData("Grüße", "any:grusse*")]
    [InlineData("bob.smith", "any:\"bob smith\"*")]
    [InlineData("東京 ", "any:\"東 京\"")]
    [InlineData("hello, ", "any:hello")]
    [InlineData("hello,", "any:hello")] // punctuation at the end: the word is finished
    public void Free_words_must_all_match_and_the_last_one_is_a_prefix_while_typing(string text, string expected) =>
        Assert.Equal(expected, Parsed(text));

    [Theory]
    [InlineData("\"Quarterly Report\"", "any:\"quarterly report\"")]
    [InlineData("\"quarterly rep", "any:\"quarterly rep\"*")] // unterminated at the end: still typing
    [InlineData("\"quarterly\" report ", "any:quarterly any:report")]
    [InlineData("\"a b\"c ", "any:\"a b\" any:c")]
    [InlineData("\"unbalanced \" quote\" here ", "any:unbalanced any:quote any:here")]
    public void Quotes_make_phrases(string text, string expected) => Assert.Equal(expected, Parsed(text));

    [Theory]
    [InlineData("from:Bob ", "from:bob")]
    [InlineData("from:Bob", "from:bob*")]
    [InlineData("from:bob.smith@Example.com ", "from:<bob.smith@example.com>")]
    [InlineData("from:bob.smith@exa", "from:<bob.smith@exa>*")]
    [InlineData("to:example.com cc:@example.org ", "to:<example.com> cc:<example.org>")]
    [InlineData("from:\"Bob Smith\" ", "from:\"bob smith\"")]
    [InlineData("subject:\"Quarterly Report\"", "subject:\"quarterly report\"")]
    [InlineData("subject:\"quarterly rep", "subject:\"quarterly rep\"*")]
    [InlineData("body:invoice filename:report.pdf", "body:invoice filename:\"report pdf\"*")]
    [InlineData("FROM:ann SUBJECT:hi ", "from:ann subject:hi")]
    public void Field_operators_search_one_field(string text, string expected) => Assert.Equal(expected, Parsed(text));

    [Theory]
    [InlineData("has:attachment", "has:attachment")]
    [InlineData("has:Attachments", "has:attachment")]
    [InlineData("is:unread is:read is:flagged is:starred", "is:unread is:read is:flagged is:flagged")]
    [InlineData("in:Archive in:\"Work/Projects 2024\"", "in:Archive in:Work/Projects 2024")]
    [InlineData("before:2024-01-31 after:2023/12/01", "before:2024-01-31 after:2023-12-01")]
    [InlineData("larger:10k smaller:2M larger:500 smaller:1.5mb larger:3G", "larger:10240 smaller:2097152 larger:500 smaller:1572864 larger:3221225472")]
    public void Operators_on_mailbox_facts(string text, string expected) => Assert.Equal(expected, Parsed(text));

    [Theory]
    [InlineData("-spam -from:bob@x.com -is:unread -\"out of office\" ", "-any:spam -from:<bob@x.com> -is:unread -any:\"out of office\"")]
    [InlineData("report -draft", "any:report -any:draft")] // a negated last word is not a prefix
    [InlineData("e-mail ", "any:\"e mail\"")] // a dash inside a word is not negation
    [InlineData("- alone ", "any:alone")]
    public void A_dash_negates_any_clause(string text, string expected) => Assert.Equal(expected, Parsed(text));

    [Theory]
    [InlineData("foo:bar ", "any:\"foo bar\"")]
    [InlineData("is:weird ", "any:\"is weird\"")]
    [InlineData("has:pdf ", "any:\"has pdf\"")]
    [InlineData("larger:huge ", "any:\"larger huge\"")]
    [InlineData("before:2024-13-01 ", "any:\"before 2024 13 01\"")]
    [InlineData("from: bob ", "any:bob")] // an operator with no value is dropped
    [InlineData("subject:!!! report ", "any:report")]
    [InlineData("http://example.com/a ", "any:\"http example com a\"")]
    public void Unknown_operators_and_bad_values_are_free_words(string text, string expected) => Assert.Equal(expected, Parsed(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   \t ")]
    [InlineData("\"")]
    [InlineData("-")]
    [InlineData("🎉 !!")]
    [InlineData("from:")]
    [InlineData("subject:\"\"")]
    public void Input_with_nothing_to_search_is_an_error(string? text) => Assert.Contains("search", Error(text));

    [Fact]
    public void Length_limit_is_an_error_not_an_exception()
    {
        Assert.Contains("1000 characters", Error(new string('a', 10_000)));
        Assert.Contains("1000 characters", Error(new string('"', 10_000)));
        Assert.Contains("1000 characters", Error(new string('a', SearchQuery.MaxLength + 1)));
        Assert.Equal("any:" + new string('a', Tokenizer.MaxTermLength) + "*", Parsed(new string('a', SearchQuery.MaxLength)));
    }

    [Fact]
    public void Term_limit_counts_phrase_words_and_operators()
    {
        var words = Enumerable.Range(0, SearchQuery.MaxTerms).Select(i => "w" + i).ToList();
        Assert.Equal(SearchQuery.MaxTerms, SearchQuery.TryParse(string.Join(' ', words), out var q, out _) ? q.Clauses.Count : -1);
        Assert.Contains("32 terms", Error(string.Join(' ', words) + " is:unread"));
        Assert.Contains("32 terms", Error("\"" + string.Join(' ', words.Take(30)) + "\" a b c"));
        Assert.Contains("32 terms", Error(new string('東', 33)));
    }

    [Fact]
    public void Parsing_never_throws_on_arbitrary_input() =>
        Gen.OneOf(Gen.String[0, 1200], Gen.Char["\"-: abc:é東@."].Array[0, 80].Select(chars => new string(chars))).Sample(text =>
        {
            if (SearchQuery.TryParse(text, out var query, out var error))
            {
                Assert.NotEmpty(query.Clauses);
                Assert.True(query.Clauses.Sum(c => c is TextClause t ? t.Terms.Count : 1) <= SearchQuery.MaxTerms);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
            }
        }, iter: 3_000);
}
