using MailActors.Core.Search;

namespace MailActors.Core.Tests.Search;

/// <summary>
/// The query semantics written out plainly over the messages' text, sharing only the
/// Tokenizer with the index: what <see cref="MessageIndex.Search"/> must return.
/// </summary>
internal static class BruteForceSearch
{
    public static List<long> Search(SearchQuery query, IEnumerable<(long Id, IndexedMessage Message, MessageFacts Facts)> messages) =>
        messages.Where(m => Matches(query, m.Message, m.Facts)).Select(m => m.Id).OrderDescending().ToList();

    public static bool Matches(SearchQuery query, IndexedMessage m, MessageFacts f) =>
        query.Clauses.All(c => Matches(c, m, f) != c.Negated);

    private static bool Matches(SearchClause clause, IndexedMessage m, MessageFacts f) => clause switch
    {
        TextClause t => Fields(t.Fields).Any(field => Values(m, field).Any(value => TextMatches(field, value, t.Terms, t.Prefix))),
        AddressClause a => Fields(a.Field).Any(field => Values(m, field).Any(value => FieldTerms(field, value).Any(term => Same(term, a.Term, a.Prefix)))),
        FlagClause { Flag: SearchFlag.HasAttachment } => f.HasAttachment,
        FlagClause { Flag: SearchFlag.Unread } => !f.Read,
        FlagClause { Flag: SearchFlag.Read } => f.Read,
        FlagClause { Flag: SearchFlag.Flagged } => f.Flagged,
        FolderClause c => f.FolderId.Equals(c.Folder, StringComparison.OrdinalIgnoreCase),
        DateClause c => c.Before
            ? f.Date < new DateTimeOffset(c.Date.Year, c.Date.Month, c.Date.Day, 0, 0, 0, TimeSpan.Zero)
            : f.Date >= new DateTimeOffset(c.Date.Year, c.Date.Month, c.Date.Day, 0, 0, 0, TimeSpan.Zero),
        SizeClause c => c.Larger ? f.Size > c.Bytes : f.Size < c.Bytes,
        _ => throw new InvalidOperationException(clause.GetType().Name),
    };

    private static bool TextMatches(SearchFields field, string value, IReadOnlyList<string> terms, bool prefix)
    {
        // One word: any term of the field value. Several: consecutive words of the value.
        if (terms.Count == 1) return FieldTerms(field, value).Any(term => Same(term, terms[0], prefix));
        var words = Tokenizer.Terms(value).ToList();
        for (var start = 0; start + terms.Count <= words.Count; start++)
        {
            var i = 0;
            while (i < terms.Count && Same(words[start + i], terms[i], prefix && i == terms.Count - 1)) i++;
            if (i == terms.Count) return true;
        }
        return false;
    }

    private static IEnumerable<string> FieldTerms(SearchFields field, string value) =>
        field is SearchFields.From or SearchFields.To or SearchFields.Cc
            ? Tokenizer.Terms(value).Concat(Tokenizer.AddressTerms(value))
            : Tokenizer.Terms(value);

    private static bool Same(string indexed, string wanted, bool prefix) =>
        prefix ? indexed.StartsWith(wanted, StringComparison.Ordinal) : indexed == wanted;

    private static IEnumerable<SearchFields> Fields(SearchFields fields) =>
        Enum.GetValues<SearchFields>().Where(f => f is not (SearchFields.None or SearchFields.All) && fields.HasFlag(f));

    private static IReadOnlyList<string> Values(IndexedMessage m, SearchFields field) => field switch
    {
        SearchFields.From => [m.From],
        SearchFields.To => m.To,
        SearchFields.Cc => m.Cc,
        SearchFields.Subject => [m.Subject],
        SearchFields.Body => [m.Body.Length > MessageIndex.MaxBodyChars ? m.Body[..MessageIndex.MaxBodyChars] : m.Body],
        SearchFields.Filename => m.AttachmentNames,
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };
}
