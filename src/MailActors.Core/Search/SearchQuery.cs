using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace MailActors.Core.Search;

/// <summary>The text fields of a message the index knows.</summary>
[Flags]
public enum SearchFields
{
    None = 0,
    From = 1,
    To = 2,
    Cc = 4,
    Subject = 8,
    Body = 16,
    Filename = 32,
    All = From | To | Cc | Subject | Body | Filename,
}

public enum SearchFlag { HasAttachment, Unread, Read, Flagged }

/// <summary>One condition of a query; a message matches a query when it matches every clause.</summary>
public abstract record SearchClause
{
    /// <summary>The clause must not match ("-word", "-from:bob").</summary>
    public bool Negated { get; init; }

    /// <summary>Canonical text, e.g. <c>-subject:"quarterly report"</c> or <c>any:rep*</c>; for logs and tests.</summary>
    public sealed override string ToString() => (Negated ? "-" : "") + Describe();

    protected abstract string Describe();
}

/// <summary>
/// Folded words that must appear in one of <see cref="Fields"/>: one word, or several in a row
/// (a phrase, within one field value). With <see cref="Prefix"/> the last word only has to
/// start the indexed word (search as you type).
/// </summary>
public sealed record TextClause(SearchFields Fields, IReadOnlyList<string> Terms, bool Prefix) : SearchClause
{
    protected override string Describe()
    {
        var fields = Fields == SearchFields.All ? "any" : Fields.ToString().ToLowerInvariant().Replace(", ", "|");
        var text = Terms.Count == 1 ? Terms[0] : "\"" + string.Join(' ', Terms) + "\"";
        return $"{fields}:{text}{(Prefix ? "*" : "")}";
    }
}

/// <summary>
/// An address term in from:, to: or cc: — a whole address, a domain or a dotted local part, as
/// <see cref="Tokenizer.AddressTerms"/> indexes them (with <see cref="Prefix"/>: any term starting with it).
/// </summary>
public sealed record AddressClause(SearchFields Field, string Term, bool Prefix) : SearchClause
{
    protected override string Describe() => $"{Field.ToString().ToLowerInvariant()}:<{Term}>{(Prefix ? "*" : "")}";
}

/// <summary>has:attachment, is:unread, is:read, is:flagged — read from the mailbox at query time.</summary>
public sealed record FlagClause(SearchFlag Flag) : SearchClause
{
    protected override string Describe() => Flag switch
    {
        SearchFlag.HasAttachment => "has:attachment",
        SearchFlag.Unread => "is:unread",
        SearchFlag.Read => "is:read",
        _ => "is:flagged",
    };
}

/// <summary>in:&lt;folder&gt;; compared with the message's folder id ignoring case.</summary>
public sealed record FolderClause(string Folder) : SearchClause
{
    protected override string Describe() => "in:" + Folder;
}

/// <summary>
/// before:D = sent before D 00:00 UTC; after:D = sent on or after D 00:00 UTC (IMAP BEFORE/SINCE).
/// </summary>
public sealed record DateClause(bool Before, DateOnly Date) : SearchClause
{
    public DateTimeOffset Instant => new(Date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    protected override string Describe() => (Before ? "before:" : "after:") + Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

/// <summary>larger:N = size &gt; N bytes, smaller:N = size &lt; N bytes (IMAP LARGER/SMALLER).</summary>
public sealed record SizeClause(bool Larger, long Bytes) : SearchClause
{
    protected override string Describe() => (Larger ? "larger:" : "smaller:") + Bytes.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A parsed search: every clause must match. Syntax: free words (all must match; a word
/// that folds to several terms, like "bob.smith" or "東京", is a phrase), "exact phrases",
/// from: to: cc: subject: body: filename: (value bare or "quoted"), has:attachment,
/// is:unread|read|flagged, in:folder, before:/after: yyyy-mm-dd, larger:/smaller: 10k|2M|500,
/// and '-' before any of them to negate. The last word, if the text doesn't end in
/// whitespace, also matches as a prefix. Unknown operators and bad values are free words.
/// </summary>
public sealed class SearchQuery(IReadOnlyList<SearchClause> clauses)
{
    public const int MaxLength = 1_000;

    /// <summary>At most this many terms: each word of a text clause counts, every other clause counts one.</summary>
    public const int MaxTerms = 32;

    public IReadOnlyList<SearchClause> Clauses { get; } = clauses;

    public override string ToString() => string.Join(' ', Clauses);

    /// <summary>Parses user input; never throws. False with a user-readable reason for empty or over-limit input.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out SearchQuery? query, [NotNullWhen(false)] out string? error)
    {
        query = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "The search is empty.";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"The search is longer than {MaxLength} characters.";
            return false;
        }

        var clauses = new List<SearchClause>();
        var terms = 0;
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i == text.Length) break;
            var negated = text[i] == '-' && i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1]);
            if (negated) i++;

            SearchClause? clause;
            if (text[i] == '"')
            {
                var (phrase, closed) = ReadQuoted(text, ref i);
                clause = Text(SearchFields.All, phrase, Prefix(text, i, negated, closed, phrase));
            }
            else
            {
                var start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != '"') i++;
                var word = text[start..i];
                var colon = word.IndexOf(':');
                var op = colon > 0 ? word[..colon].ToLowerInvariant() : "";
                if (IsOperator(op))
                {
                    var value = word[(colon + 1)..];
                    var quoted = value.Length == 0 && i < text.Length && text[i] == '"';
                    var closed = false;
                    if (quoted) (value, closed) = ReadQuoted(text, ref i);
                    if (value.Length == 0) continue; // "from:" still being typed
                    var prefix = Prefix(text, i, negated, closed, value);
                    var addressPrefix = i == text.Length && !negated && !quoted;
                    if (!TryOperator(op, value, quoted, addressPrefix, prefix, out clause))
                        clause = Text(SearchFields.All, op + ":" + value, prefix);
                }
                else
                {
                    clause = Text(SearchFields.All, word, Prefix(text, i, negated, false, word));
                }
            }
            if (clause is null) continue; // nothing searchable in it (punctuation, emoji)

            terms += clause is TextClause t ? t.Terms.Count : 1;
            if (terms > MaxTerms)
            {
                error = $"The search has more than {MaxTerms} terms.";
                return false;
            }
            clauses.Add(clause with { Negated = negated });
        }

        if (clauses.Count == 0)
        {
            error = "The search has no words to look for.";
            return false;
        }
        query = new SearchQuery(clauses);
        error = null;
        return true;
    }

    private static bool IsOperator(string op) => op is "from" or "to" or "cc" or "subject" or "body" or "filename"
        or "has" or "is" or "in" or "before" or "after" or "larger" or "smaller";

    /// <summary>
    /// False when the value doesn't fit the operator (the caller reads the whole thing as
    /// words); true with a null clause when a text operator's value has no words ("subject:!!").
    /// </summary>
    private static bool TryOperator(string op, string value, bool quoted, bool addressPrefix, bool prefix, out SearchClause? clause)
    {
        clause = null;
        switch (op)
        {
            case "from" or "to" or "cc":
                var field = op switch { "from" => SearchFields.From, "to" => SearchFields.To, _ => SearchFields.Cc };
                // A bare value with '@' or '.' is one address term: exact address or domain, not loose words.
                clause = !quoted && Tokenizer.AddressTerm(value) is { } address
                    ? new AddressClause(field, address, addressPrefix)
                    : Text(field, value, prefix);
                return true;
            case "subject":
                clause = Text(SearchFields.Subject, value, prefix);
                return true;
            case "body":
                clause = Text(SearchFields.Body, value, prefix);
                return true;
            case "filename":
                clause = Text(SearchFields.Filename, value, prefix);
                return true;
            case "has":
                if (!value.Equals("attachment", StringComparison.OrdinalIgnoreCase) && !value.Equals("attachments", StringComparison.OrdinalIgnoreCase))
                    return false;
                clause = new FlagClause(SearchFlag.HasAttachment);
                return true;
            case "is":
                clause = value.ToLowerInvariant() switch
                {
                    "unread" => new FlagClause(SearchFlag.Unread),
                    "read" => new FlagClause(SearchFlag.Read),
                    "flagged" or "starred" => new FlagClause(SearchFlag.Flagged),
                    _ => null,
                };
                return clause is not null;
            case "in":
                clause = new FolderClause(value);
                return true;
            case "before" or "after":
                if (!DateOnly.TryParseExact(value, ["yyyy-MM-dd", "yyyy/MM/dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                    return false;
                clause = new DateClause(op == "before", date);
                return true;
            case "larger" or "smaller":
                if (!TryParseSize(value, out var bytes)) return false;
                clause = new SizeClause(op == "larger", bytes);
                return true;
            default:
                return false;
        }
    }

    private static SearchClause? Text(SearchFields fields, string value, bool prefix)
    {
        var terms = Tokenizer.Terms(value).ToList();
        return terms.Count == 0 ? null : new TextClause(fields, terms, prefix);
    }

    /// <summary>The word being typed: last in the text, not negated, not a closed quote, ending in a letter or digit.</summary>
    private static bool Prefix(string text, int end, bool negated, bool closedQuote, string value)
    {
        if (end != text.Length || negated || closedQuote || value.Length == 0) return false;
        if (Rune.DecodeLastFromUtf16(value, out var last, out _) != System.Buffers.OperationStatus.Done) return false;
        return Rune.IsLetterOrDigit(last) || Rune.GetUnicodeCategory(last) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
    }

    private static (string Value, bool Closed) ReadQuoted(string text, ref int i)
    {
        var start = i + 1;
        var end = text.IndexOf('"', start);
        if (end < 0)
        {
            i = text.Length;
            return (text[start..], false);
        }
        i = end + 1;
        return (text[start..end], true);
    }

    /// <summary>"500", "10k", "2M", "1.5mb", "3G" (binary multiples); at most 1 TiB.</summary>
    internal static bool TryParseSize(string value, out long bytes)
    {
        bytes = 0;
        var digits = 0;
        while (digits < value.Length && (char.IsAsciiDigit(value[digits]) || value[digits] == '.')) digits++;
        if (digits == 0 || !decimal.TryParse(value.AsSpan(0, digits), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            return false;
        decimal multiplier = value[digits..].ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" or "kb" => 1L << 10,
            "m" or "mb" => 1L << 20,
            "g" or "gb" => 1L << 30,
            _ => 0,
        };
        if (multiplier == 0 || number > (1L << 40) / multiplier) return false;
        bytes = (long)(number * multiplier);
        return true;
    }
}
