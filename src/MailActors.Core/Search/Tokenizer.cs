using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace MailActors.Core.Search;

/// <summary>
/// Turns text into search terms; the index and the query parser both go through here, so a
/// word folds the same way on both sides.
/// <list type="bullet">
/// <item>A word is a run of letters and digits (<see cref="Rune.IsLetterOrDigit"/>, so
/// surrogate pairs count); combining marks inside a word stay in it. Everything else
/// (punctuation, symbols, emoji) separates words.</item>
/// <item>Folding: lower case (invariant), diacritics dropped ("Müller" → "muller", "naïve" →
/// "naive"), a few letters spelled out (ß → ss, æ → ae, ø → o, ł → l, …), full-width Latin to
/// ASCII. Done with a generated table, not <c>string.Normalize</c>: the node runs with
/// InvariantGlobalization, where normalization leaves non-ASCII text unchanged.</item>
/// <item>Han ideographs and kana are one term each (no dictionary segmentation): a
/// multi-character query word becomes a phrase of them, which finds the word wherever it
/// appears, plus the odd false hit across a word boundary. Thai, Lao, Khmer and other scripts
/// written without spaces become one long term per run; not segmented.</item>
/// <item>Terms are at most <see cref="MaxTermLength"/> UTF-16 units; longer words are cut (both
/// sides cut the same way, so they still match).</item>
/// </list>
/// </summary>
public static class Tokenizer
{
    public const int MaxTermLength = 64;

    /// <summary>Longest address that <see cref="AddressTerms"/> indexes (RFC 5321 path limit).</summary>
    public const int MaxAddressLength = 254;

    private static readonly FrozenDictionary<char, char> BaseLetter = BuildBaseLetters();

    // Letters that don't decompose but that people type without the stroke/ligature.
    private static readonly FrozenDictionary<char, string> Spelled = new Dictionary<char, string>
    {
        ['ß'] = "ss", ['æ'] = "ae", ['œ'] = "oe", ['ø'] = "o", ['ł'] = "l", ['đ'] = "d", ['ð'] = "d",
        ['þ'] = "th", ['ı'] = "i", ['ħ'] = "h", ['ŧ'] = "t", ['ſ'] = "s", ['ŀ'] = "l", ['ĳ'] = "ij",
        ['ﬀ'] = "ff", ['ﬁ'] = "fi", ['ﬂ'] = "fl", ['ﬃ'] = "ffi", ['ﬄ'] = "ffl", ['ﬅ'] = "st", ['ﬆ'] = "st",
    }.ToFrozenDictionary();

    /// <summary>The folded words of <paramref name="text"/>, in order (positions are the sequence index).</summary>
    public static IEnumerable<string> Terms(string? text)
    {
        if (string.IsNullOrEmpty(text)) yield break;
        var start = -1; // start of the current word, -1 = between words
        var i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var width) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar; // a lone surrogate separates words
                width = 1;
            }
            if (IsSingleCharTerm(rune))
            {
                if (start >= 0 && Fold(text.AsSpan(start, i - start)) is { Length: > 0 } word) yield return word;
                start = -1;
                yield return Fold(text.AsSpan(i, width));
            }
            else if (Rune.IsLetterOrDigit(rune) || (start >= 0 && IsMark(rune)))
            {
                if (start < 0) start = i;
            }
            else if (start >= 0)
            {
                if (Fold(text.AsSpan(start, i - start)) is { Length: > 0 } word) yield return word;
                start = -1;
            }
            i += width;
        }
        if (start >= 0 && Fold(text.AsSpan(start)) is { Length: > 0 } last) yield return last;
    }

    /// <summary>
    /// The extra terms an address field gets for each e-mail address in <paramref name="text"/>
    /// (e.g. "Bob &lt;bob.smith@mail.example.com&gt;"): the whole address
    /// "bob.smith@mail.example.com", the local part "bob.smith" when it is more than one word,
    /// and the domain with each parent that still has a dot ("mail.example.com",
    /// "example.com"). The words themselves come from <see cref="Terms"/>; an extra term almost
    /// always has a character no word has ('.', '@', '-', …), and where it doesn't, a word and
    /// an extra term that are the same string simply share a posting list.
    /// </summary>
    public static IEnumerable<string> AddressTerms(string? text)
    {
        if (string.IsNullOrEmpty(text)) yield break;
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !IsAddressChar(text[i])) i++;
            var start = i;
            while (i < text.Length && IsAddressChar(text[i])) i++;
            var chunk = text.AsSpan(start, i - start).Trim(".-'");
            var at = chunk.IndexOf('@');
            if (at <= 0 || at == chunk.Length - 1 || chunk[(at + 1)..].Contains('@') || chunk.Length > MaxAddressLength) continue;

            var address = FoldAddress(chunk);
            var folded = address.AsMemory();
            at = address.IndexOf('@');
            yield return address;
            var local = folded[..at];
            if (!IsSingleWord(local.Span)) yield return local.ToString();
            var domain = folded[(at + 1)..];
            if (!IsSingleWord(domain.Span)) yield return domain.ToString();
            for (var dot = domain.Span.IndexOf('.'); dot >= 0; dot = domain.Span.IndexOf('.'))
            {
                domain = domain[(dot + 1)..];
                if (domain.Span.Contains('.')) yield return domain.ToString();
            }
        }
    }

    /// <summary>
    /// A query value for from:/to:/cc: as one address term ("bob@example.com", "example.com",
    /// "bob.smith"), or null when it is plain words (no '@' or '.') and should match as words.
    /// </summary>
    public static string? AddressTerm(string value)
    {
        var span = value.AsSpan().Trim("<>\"'(),;");
        if (span.StartsWith("@")) span = span[1..]; // "@example.com" means the domain
        if (span.IsEmpty || span.Length > MaxAddressLength || span.IndexOfAny('@', '.') < 0) return null;
        foreach (var c in span)
            if (!IsAddressChar(c)) return null;
        return FoldAddress(span);
    }

    /// <summary>Folds one word (case, diacritics, spelled-out letters) and cuts it to <see cref="MaxTermLength"/>.</summary>
    internal static string Fold(ReadOnlySpan<char> word)
    {
        if (Ascii.IsValid(word))
        {
            var ascii = word.Length > MaxTermLength ? word[..MaxTermLength] : word;
            Span<char> lower = stackalloc char[MaxTermLength];
            Ascii.ToLower(ascii, lower, out var written);
            return new string(lower[..written]);
        }
        var sb = new StringBuilder(word.Length);
        AppendFolded(sb, word);
        if (sb.Length > MaxTermLength)
            sb.Length = char.IsHighSurrogate(sb[MaxTermLength - 1]) ? MaxTermLength - 1 : MaxTermLength;
        return sb.ToString();
    }

    private static string FoldAddress(ReadOnlySpan<char> address)
    {
        if (Ascii.IsValid(address)) return address.ToString().ToLowerInvariant();
        var sb = new StringBuilder(address.Length);
        AppendFolded(sb, address);
        return sb.ToString();
    }

    private static void AppendFolded(StringBuilder sb, ReadOnlySpan<char> text)
    {
        Span<char> pair = stackalloc char[2];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                // Astral letters (Deseret, math alphanumerics, CJK extension B…): case only.
                var rune = Rune.ToLowerInvariant(new Rune(c, text[i + 1]));
                sb.Append(pair[..rune.EncodeToUtf16(pair)]);
                i++;
                continue;
            }
            if (IsDiacriticMark(c)) continue;
            if (c is >= '\uFF01' and <= '\uFF5E') c = (char)(c - 0xFEE0); // full-width ASCII
            if (BaseLetter.TryGetValue(c, out var baseLetter)) c = baseLetter;
            c = char.ToLowerInvariant(c);
            if (BaseLetter.TryGetValue(c, out baseLetter)) c = baseLetter;
            if (Spelled.TryGetValue(c, out var spelled)) sb.Append(spelled);
            else sb.Append(c);
        }
    }

    private static FrozenDictionary<char, char> BuildBaseLetters()
    {
        var pairs = FoldingTable.Pairs;
        var map = new Dictionary<char, char>(pairs.Length / 2);
        for (var i = 0; i < pairs.Length; i += 2) map[pairs[i]] = pairs[i + 1];
        return map.ToFrozenDictionary();
    }

    /// <summary>Han ideographs and kana: one term per character (scripts written without spaces).</summary>
    private static bool IsSingleCharTerm(Rune r) => r.Value switch
    {
        >= 0x2E80 and <= 0x2FDF => true, // CJK radicals, Kangxi radicals
        >= 0x3005 and <= 0x3007 => true, // 々 〆 〇
        >= 0x3040 and <= 0x30FF => Rune.IsLetterOrDigit(r), // hiragana, katakana
        >= 0x31F0 and <= 0x31FF => true, // katakana phonetic extensions
        >= 0x3400 and <= 0x4DBF => true, // extension A
        >= 0x4E00 and <= 0x9FFF => true, // unified ideographs
        >= 0xF900 and <= 0xFAFF => true, // compatibility ideographs
        >= 0xFF66 and <= 0xFF9D => true, // half-width katakana
        >= 0x20000 and <= 0x3134F => true, // extensions B–G
        _ => false,
    };

    private static bool IsMark(Rune r) => Rune.GetUnicodeCategory(r) is
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    /// <summary>Combining diacritics: dropped when folding (kana voicing and Indic vowel signs are not in these blocks).</summary>
    private static bool IsDiacriticMark(char c) => c switch
    {
        >= '\u0300' and <= '\u036F' => true,
        >= '\u1AB0' and <= '\u1AFF' => true,
        >= '\u1DC0' and <= '\u1DFF' => true,
        >= '\u20D0' and <= '\u20FF' => true,
        >= '\uFE20' and <= '\uFE2F' => true,
        _ => false,
    };

    // What an address chunk may contain; letters cover internationalized addresses.
    private static bool IsAddressChar(char c) =>
        char.IsLetterOrDigit(c) || char.IsSurrogate(c) || c is '.' or '@' or '-' or '_' or '+' or '%' or '\'' or '&' or '=' or '~' or '!' or '#'
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;

    private static bool IsSingleWord(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
            if (!char.IsLetterOrDigit(c) && !char.IsSurrogate(c)) return false;
        return true;
    }
}
