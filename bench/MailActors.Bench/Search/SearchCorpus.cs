using System.Diagnostics;
using System.Text;
using MimeKit;

namespace MailActors.Bench.Search;

/// <summary>One generated message, written once as a Maildir file; both systems get these bytes.</summary>
public sealed record CorpusMessage(int Index, string Path, long Size, DateTimeOffset Date, bool Read, bool Flagged, bool HasAttachment)
{
    public MailActors.Core.MessageFlags Flags =>
        (Read ? MailActors.Core.MessageFlags.Seen : 0) | (Flagged ? MailActors.Core.MessageFlags.Flagged : 0);
}

/// <summary>What the query kinds search for, picked from the generated mail (see <see cref="SearchCorpus.PickTerms"/>).</summary>
public sealed record QueryTerms(
    IReadOnlyList<string> RareWords,
    IReadOnlyList<string> CommonWords,
    IReadOnlyList<string> Senders,
    IReadOnlyList<string> SubjectWords,
    IReadOnlyList<(string First, string Second)> Phrases,
    IReadOnlyList<string> Prefixes,
    IReadOnlyList<(string Sender, string Word)> Combined);

/// <summary>The generated mailbox: the files, their sizes and the terms the queries use.</summary>
public sealed record GeneratedCorpus(IReadOnlyList<CorpusMessage> Messages, long TotalBytes, TimeSpan Elapsed, QueryTerms Terms)
{
    public double MeanBytes => (double)TotalBytes / Messages.Count;
}

/// <summary>
/// A deterministic (fixed seed) mailbox of realistic mail for the search benchmark, ~50 KB a
/// message on average: a few hundred senders with display names on several domains, the
/// mailbox user in To and sometimes colleagues in Cc, subjects of dictionary-like words,
/// bodies of words drawn from a Zipf–Mandelbrot distribution over a 20,000-word vocabulary
/// (a few hundred common English words at the top, then pronounceable pseudo-words built from
/// syllables, so no dictionary file is needed), as multipart/alternative text/plain + text/html
/// (the same text in &lt;p&gt; paragraphs), ~20% with a ~30 KB base64 attachment. Dates ascend
/// over three years; ~30% unread, ~5% flagged. Message <c>i</c> depends only on <c>i</c> and
/// the corpus size (its date), not on the other messages.
/// <para>
/// While writing it counts, per word, how many messages hold it (body and subject apart) and
/// per sender how many messages it sent, and samples word pairs from real lines, so
/// <see cref="PickTerms"/> can choose query terms of a known frequency.
/// </para>
/// </summary>
public sealed class SearchCorpus
{
    public const int Seed = 20_240_917;
    public const string User = "alice@bench.test";
    private const string UserName = "Alice Martin";
    private const string UserFirstName = "Alice";
    public const int VocabularySize = 20_000;
    private const int TermsPerKind = 20;

    // p(rank r) ∝ 1 / (r + q)^s. With s = 1.3, q = 5 and ~4,000 words a body, the top word
    // is ~5% of all words (like "the" in English), about a thousand words are in ≥ 20% of the
    // messages and the last several thousand ranks in 0.1–1% of them.
    private const double ZipfExponent = 1.3;
    private const double ZipfOffset = 5;

    // Body length in words: log-normal, median 3,500 (mean ~4,200): ~20 KB of text per part,
    // which with the attachments makes the ~50 KB mean message.
    private const double BodyWordsMedian = 3500;
    private const double BodyWordsSigma = 0.6;
    private const int LineWidth = 72;
    private const double AttachmentShare = 0.20;
    private const double UnreadShare = 0.30;
    private const double FlaggedShare = 0.05;
    private static readonly DateTimeOffset FirstDate = new(2022, 1, 3, 8, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Span = TimeSpan.FromDays(3 * 365);

    private readonly int _count;
    private readonly string[] _words;
    private readonly double[] _wordCdf;
    private readonly Sender[] _senders;
    private readonly double[] _senderCdf;
    private readonly Sender[] _colleagues;

    // Statistics gathered while writing.
    private readonly int[] _bodyDocs = new int[VocabularySize];
    private readonly int[] _subjectDocs = new int[VocabularySize];
    private readonly int[] _bodyLastSeen = new int[VocabularySize];
    private readonly int[] _subjectLastSeen = new int[VocabularySize];
    private readonly int[] _senderMessages;
    private readonly List<(int First, int Second)> _pairs = [];

    private sealed record Sender(string Name, string Address)
    {
        public string FirstName => Name.Split(' ')[0];
        public MailboxAddress ToMailbox() => new(Name, Address);
    }

    public SearchCorpus(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 100);
        _count = count;
        _words = BuildVocabulary();
        _wordCdf = Cdf(VocabularySize, r => Math.Pow(r + ZipfOffset, -ZipfExponent));
        (_senders, _colleagues) = BuildSenders();
        _senderCdf = Cdf(_senders.Length, r => Math.Pow(r + 1, -0.8));
        _senderMessages = new int[_senders.Length];
        Array.Fill(_bodyLastSeen, -1);
        Array.Fill(_subjectLastSeen, -1);
    }

    /// <summary>Writes every message into <paramref name="maildir"/>/cur (and creates new/ and tmp/).</summary>
    public static GeneratedCorpus WriteMaildir(int count, string maildir)
    {
        var corpus = new SearchCorpus(count);
        var cur = Directory.CreateDirectory(Path.Combine(maildir, "cur")).FullName;
        Directory.CreateDirectory(Path.Combine(maildir, "new"));
        Directory.CreateDirectory(Path.Combine(maildir, "tmp"));

        var sw = Stopwatch.StartNew();
        var messages = new List<CorpusMessage>(count);
        var total = 0L;
        using var buffer = new MemoryStream(128 * 1024);
        for (var i = 0; i < count; i++)
        {
            var (message, date, read, flagged, attachment) = corpus.Build(i);
            buffer.SetLength(0);
            message.WriteTo(FormatOptions, buffer);
            var size = buffer.Length;
            // Maildir name: Dovecot takes the size from S= and the flags from the ":2," info (sorted letters).
            var info = (flagged ? "F" : "") + (read ? "S" : "");
            var path = Path.Combine(cur, $"{date.ToUnixTimeSeconds()}.M{i}P1.bench,S={size}:2,{info}");
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                file.Write(buffer.GetBuffer(), 0, (int)size);
            File.SetLastWriteTimeUtc(path, date.UtcDateTime); // INTERNALDATE
            messages.Add(new CorpusMessage(i, path, size, date, read, flagged, attachment));
            total += size;
        }
        sw.Stop();
        return new GeneratedCorpus(messages, total, sw.Elapsed, corpus.PickTerms());
    }

    /// <summary>CRLF line ends, as the message travels over SMTP.</summary>
    private static readonly FormatOptions FormatOptions = new() { NewLineFormat = NewLineFormat.Dos };

    // ---- one message --------------------------------------------------------------------

    private (MimeMessage Message, DateTimeOffset Date, bool Read, bool Flagged, bool Attachment) Build(int i)
    {
        var rng = new Random(unchecked(Seed + i * 7919));
        var sender = Sample(rng, _senderCdf);
        _senderMessages[sender]++;
        var from = _senders[sender];

        // Each message gets its own slot of the three years, so dates ascend with the index.
        var instant = FirstDate + Span * ((i + rng.NextDouble()) / _count);
        var offset = TimeSpan.FromHours(new[] { 0, 1, 2, -5, -8, 9 }[rng.Next(6)]);
        var date = new DateTimeOffset(instant.UtcDateTime.Ticks - instant.UtcDateTime.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero).ToOffset(offset);

        var message = new MimeMessage();
        message.From.Add(from.ToMailbox());
        message.To.Add(new MailboxAddress(UserName, User));
        if (rng.NextDouble() < 0.10) message.To.Add(_colleagues[rng.Next(_colleagues.Length)].ToMailbox());
        if (rng.NextDouble() < 0.20)
            foreach (var c in Enumerable.Range(0, rng.Next(1, 4)).Select(_ => _colleagues[rng.Next(_colleagues.Length)]).Distinct())
                if (c.Address != from.Address) message.Cc.Add(c.ToMailbox());
        message.Subject = Subject(rng, i);
        message.Date = date;
        message.MessageId = $"{i}.{Seed}@{from.Address[(from.Address.IndexOf('@') + 1)..]}";

        var pairRng = i % Math.Max(1, _count / 400) == 0 ? new Random(unchecked(Seed - i)) : null;
        var (plain, html) = Body(rng, i, from.FirstName, pairRng);
        var alternative = new MultipartAlternative
        {
            new TextPart("plain") { Text = plain, ContentTransferEncoding = ContentEncoding.SevenBit },
            new TextPart("html") { Text = html, ContentTransferEncoding = ContentEncoding.SevenBit },
        };
        alternative.Boundary = $"=_alt_{i:x8}_{Seed:x8}"; // the default boundary is random
        MimeEntity body = alternative;

        var attachment = rng.NextDouble() < AttachmentShare;
        if (attachment)
        {
            var bytes = new byte[rng.Next(20_000, 40_001)];
            rng.NextBytes(bytes);
            var (name, type) = AttachmentName(rng, date);
            var part = new MimePart(type)
            {
                Content = new MimeContent(new MemoryStream(bytes)),
                ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = name,
            };
            body = new Multipart("mixed") { alternative, part };
            ((Multipart)body).Boundary = $"=_mixed_{i:x8}_{Seed:x8}";
        }
        message.Body = body;

        var read = rng.NextDouble() >= UnreadShare;
        var flagged = rng.NextDouble() < FlaggedShare;
        return (message, date, read, flagged, attachment);
    }

    private string Subject(Random rng, int i)
    {
        var words = new List<string>();
        var n = rng.Next(3, 9);
        while (words.Count < n)
        {
            var rank = Sample(rng, _wordCdf);
            if (rank < 40) continue; // subjects are mostly content words
            words.Add(_words[rank]);
            if (_subjectLastSeen[rank] != i)
            {
                _subjectLastSeen[rank] = i;
                _subjectDocs[rank]++;
            }
        }
        words[0] = Capitalize(words[0]);
        var prefix = rng.NextDouble() switch { < 0.15 => "Re: ", < 0.20 => "Fwd: ", _ => "" };
        return prefix + string.Join(' ', words);
    }

    /// <summary>
    /// Paragraphs of sentences, wrapped at <see cref="LineWidth"/>; the HTML part has the same
    /// lines in &lt;p&gt; elements. With <paramref name="pairRng"/>, one pair of consecutive
    /// words on one line (no punctuation between them) is kept as a phrase candidate.
    /// </summary>
    private (string Plain, string Html) Body(Random rng, int i, string senderFirstName, Random? pairRng)
    {
        var target = (int)Math.Clamp(BodyWordsMedian * Math.Exp(BodyWordsSigma * Gaussian(rng)), 30, 15_000);
        var plain = new StringBuilder(target * 7);
        var html = new StringBuilder(target * 7 + 1024);
        plain.Append("Hi ").Append(UserFirstName).Append(",\n\n");
        html.Append("<html><body>\n<p>Hi ").Append(UserFirstName).Append(",</p>\n");

        var line = new StringBuilder(LineWidth + 32);
        (int First, int Second)? pair = null;
        var eligiblePairs = 0;
        var written = 0;
        while (written < target)
        {
            html.Append("<p>\n");
            var sentences = rng.Next(2, 7);
            var previous = -1; // rank of the previous word on this line when no punctuation follows it
            for (var s = 0; s < sentences && written < target; s++)
            {
                var length = rng.Next(5, 19);
                for (var w = 0; w < length; w++, written++)
                {
                    var rank = Sample(rng, _wordCdf);
                    if (_bodyLastSeen[rank] != i)
                    {
                        _bodyLastSeen[rank] = i;
                        _bodyDocs[rank]++;
                    }
                    var word = w == 0 ? Capitalize(_words[rank]) : _words[rank];
                    var last = w == length - 1;
                    var punctuation = last ? (rng.NextDouble() < 0.1 ? "?" : ".") : rng.NextDouble() < 0.06 ? "," : "";
                    if (line.Length > 0 && line.Length + 1 + word.Length + punctuation.Length > LineWidth)
                    {
                        FlushLine(plain, html, line);
                        previous = -1;
                    }
                    if (line.Length > 0) line.Append(' ');
                    line.Append(word).Append(punctuation);

                    if (pairRng is not null && previous >= 0 && w > 0 && previous != rank && Math.Min(previous, rank) >= 30
                        && pairRng.Next(++eligiblePairs) == 0)
                        pair = (previous, rank); // reservoir sampling: every eligible pair equally likely
                    previous = punctuation.Length == 0 ? rank : -1;
                }
            }
            if (line.Length > 0) FlushLine(plain, html, line);
            plain.Append('\n');
            html.Append("</p>\n");
        }

        plain.Append("Regards,\n").Append(senderFirstName).Append('\n');
        html.Append("<p>Regards,<br>\n").Append(senderFirstName).Append("</p>\n</body></html>\n");
        if (pair is { } p) _pairs.Add(p);
        return (plain.ToString(), html.ToString());
    }

    private static void FlushLine(StringBuilder plain, StringBuilder html, StringBuilder line)
    {
        plain.Append(line).Append('\n');
        html.Append(line).Append('\n');
        line.Clear();
    }

    private (string Name, string ContentType) AttachmentName(Random rng, DateTimeOffset date) => rng.Next(6) switch
    {
        0 => ($"report-{date.Year}-q{(date.Month - 1) / 3 + 1}.pdf", "application/pdf"),
        1 => ($"invoice-{rng.Next(10_000, 99_999)}.pdf", "application/pdf"),
        2 => ($"photo-{rng.Next(10_000):0000}.jpg", "image/jpeg"),
        3 => ($"minutes-{date:yyyy-MM-dd}.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        4 => ($"budget-{date.Year}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        _ => ($"slides-{_words[300 + rng.Next(2000)]}.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    };

    // ---- query terms --------------------------------------------------------------------

    /// <summary>
    /// Deterministic picks, evenly spread over each candidate list (ordered by frequency rank):
    /// rare body words (in 0.1–1% of the messages), common body words (≥ 20%), the 60 busiest
    /// senders, subject words (0.1–5% of subjects), phrases (two consecutive words of a real
    /// line), prefixes (first 4 letters of a word in 2–10% of the messages) and, for the
    /// combined query, a busy sender with a common word.
    /// </summary>
    public QueryTerms PickTerms()
    {
        var n = (double)_count;
        List<string> Words(int[] docs, double min, double max, Func<string, bool>? also = null) =>
            Enumerable.Range(0, VocabularySize)
                .Where(r => docs[r] >= Math.Max(1, min * n) && docs[r] <= max * n && (also?.Invoke(_words[r]) ?? true))
                .Select(r => _words[r]).ToList();

        var rare = Words(_bodyDocs, 0.001, 0.01);
        var common = Words(_bodyDocs, 0.20, 1.0);
        var subject = Words(_subjectDocs, 0.001, 0.05, w => w.Length >= 4);
        var prefixes = Words(_bodyDocs, 0.02, 0.10, w => w.Length >= 6).Select(w => w[..4]).Distinct().ToList();
        var senders = Enumerable.Range(0, _senders.Length).OrderByDescending(s => _senderMessages[s]).ThenBy(s => s)
            .Take(60).Select(s => _senders[s].Address).ToList();
        var phrases = _pairs.Distinct().OrderBy(p => Math.Max(p.First, p.Second)).Select(p => (_words[p.First], _words[p.Second])).ToList();

        var pickedSenders = Pick(senders);
        var pickedCommon = Pick(common);
        return new QueryTerms(
            Pick(rare), pickedCommon, pickedSenders, Pick(subject), Pick(phrases), Pick(prefixes),
            pickedSenders.Zip(pickedCommon).ToList());
    }

    private static List<T> Pick<T>(IReadOnlyList<T> candidates)
    {
        if (candidates.Count <= TermsPerKind) return [.. candidates];
        return Enumerable.Range(0, TermsPerKind).Select(j => candidates[(int)((j + 0.5) * candidates.Count / TermsPerKind)]).ToList();
    }

    // ---- vocabulary and senders --------------------------------------------------------

    private static readonly string[] CommonEnglish = """
        the of and to a in is it you that he was for on are with as his they be at one have this from or had by not
        word but what some we can out other were all there when up use your how said an each she which do their time
        if will way about many then them write would like so these her long make thing see him two has look more day
        could go come did number sound no most people my over know water than call first who may down side been now
        find any new work part take get place made live where after back little only round man year came show every
        good me give our under name very through just form sentence great think say help low line differ turn cause
        much mean before move right boy old too same tell does set three want air well also play small end put home
        read hand large spell add even land here must big high such follow act why ask men change went light kind
        off need house picture try us again animal point mother world near build self earth father head stand own page
        should country found answer school grow study still learn plant cover food sun four between state keep eye
        never last let thought city tree cross farm hard start might story saw far sea draw left late run while press
        close night real life few north open seem together next white children begin got walk example ease paper group
        always music those both often letter until mile river car feet care second book carry took science eat room
        friend began idea fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl
        usual young ready above ever red list though feel talk bird soon body dog family direct pose leave song measure
        door product black short numeral class wind question happen complete ship area half rock order fire south
        problem piece told knew pass since top whole space heard best hour better true during hundred five remember
        step early hold west ground interest reach fast verb sing listen six table travel less morning ten simple
        several vowel toward war lay against pattern slow center love person money serve appear road map rain rule
        govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine note wait plan figure
        star box noun field rest correct able pound done beauty drive stood contain front teach week final gave green
        quick develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply
        nothing course stay wheel full force blue object decide surface deep moon island foot system busy record boat
        common gold possible plane dry wonder laugh thousand ago ran check game shape hot miss brought heat snow bring
        yes distant fill east paint language among
        """.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    private static readonly string[] FirstNames =
    [
        "olivia", "liam", "emma", "noah", "amelia", "oliver", "sophia", "elijah", "charlotte", "james", "isabella", "lucas",
        "mia", "henry", "evelyn", "theodore", "harper", "jack", "luna", "levi", "camila", "mateo", "gianna", "samuel",
        "ruby", "daniel", "nora", "hugo", "chloe", "felix", "greta", "oscar", "ingrid", "pablo", "yuki", "ravi",
        "fatima", "kofi", "mei", "anders",
    ];

    private static readonly string[] LastNames =
    [
        "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "wilson", "anderson",
        "taylor", "thomas", "moore", "jackson", "white", "harris", "clark", "lewis", "walker", "young", "allen", "king",
        "wright", "scott", "green", "baker", "adams", "nelson", "hill", "campbell", "mitchell", "roberts", "carter",
        "phillips", "evans", "turner", "torres", "parker", "collins",
    ];

    private static readonly string[] Domains =
    [
        "example.com", "acme-corp.com", "globex.net", "initech.io", "mail.contoso.org", "umbrella.co.uk",
        "hooli.dev", "shop.example.net", "wayne-enterprises.com", "stark.industries",
    ];

    private static readonly string[] Roles = ["news", "billing", "no-reply", "support", "notifications", "events", "sales", "hr", "orders", "alerts"];

    /// <summary>Words that headers, greetings or file names already use, kept out of the vocabulary.</summary>
    private static HashSet<string> Reserved() =>
    [
        .. FirstNames, .. LastNames, .. Roles, .. Domains.SelectMany(d => d.Split('.', '-')),
        "hi", "alice", "martin", "regards", "re", "fwd", "bench", "test", "report", "invoice", "photo", "minutes",
        "budget", "slides", "pdf", "jpg", "docx", "xlsx", "pptx", "html", "body", "br", "p", "q1", "q2", "q3", "q4",
        "reply", "no",
    ];

    /// <summary>
    /// The common English words (minus reserved ones) at the top ranks, then pseudo-words from
    /// syllables, shorter ones tending to be more frequent, as in real language.
    /// </summary>
    private static string[] BuildVocabulary()
    {
        var reserved = Reserved();
        var words = new List<string>(VocabularySize);
        var seen = new HashSet<string>(reserved);
        foreach (var w in CommonEnglish)
            if (seen.Add(w)) words.Add(w);

        string[] onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
            "br", "cr", "dr", "fr", "gr", "pr", "tr", "bl", "cl", "fl", "gl", "pl", "sl", "st", "sp", "sk", "ch", "sh", "th"];
        string[] nuclei = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ou", "ie"];
        string[] codas = ["", "", "", "n", "r", "s", "l", "m", "t", "nd", "st", "rk"];
        var rng = new Random(Seed);
        var pseudo = new List<string>(VocabularySize);
        while (words.Count + pseudo.Count < VocabularySize)
        {
            var syllables = rng.NextDouble() switch { < 0.55 => 2, < 0.90 => 3, _ => 4 };
            var sb = new StringBuilder();
            for (var s = 0; s < syllables; s++)
            {
                sb.Append(onsets[rng.Next(onsets.Length)]).Append(nuclei[rng.Next(nuclei.Length)]);
                if (s == syllables - 1 || rng.NextDouble() < 0.25) sb.Append(codas[rng.Next(codas.Length)]);
            }
            var word = sb.ToString();
            if (seen.Add(word)) pseudo.Add(word);
        }
        // Shorter words more frequent, loosely (rare words aren't all the longest ones).
        var jitter = pseudo.Select(_ => rng.NextDouble() * 6).ToArray();
        words.AddRange(pseudo.Select((w, i) => (w, Key: w.Length + jitter[i])).OrderBy(x => x.Key).Select(x => x.w));
        return [.. words];
    }

    /// <summary>
    /// ~300 outside senders (people and role addresses on ten domains) plus the user's
    /// colleagues at bench.test; no address is a substring of another, so IMAP's substring
    /// FROM and our exact address term find the same messages.
    /// </summary>
    private static (Sender[] Senders, Sender[] Colleagues) BuildSenders()
    {
        var rng = new Random(Seed + 1);
        var colleagues = new[] { "bruno", "clara", "dmitri", "elena", "farid", "grace", "hiro", "ines" }
            .Select(n => new Sender($"{Capitalize(n)} {Capitalize(LastNames[rng.Next(LastNames.Length)])}", $"{n}@bench.test")).ToArray();
        var senders = new List<Sender>(colleagues);
        var tries = 0;
        while (senders.Count < 300 + colleagues.Length && tries++ < 100_000)
        {
            var domain = Domains[rng.Next(Domains.Length)];
            Sender candidate;
            if (rng.NextDouble() < 0.1)
            {
                var role = Roles[rng.Next(Roles.Length)];
                var org = Capitalize(domain.Split('.', '-')[domain.StartsWith("mail.", StringComparison.Ordinal) || domain.StartsWith("shop.", StringComparison.Ordinal) ? 1 : 0]);
                candidate = new Sender($"{org} {Capitalize(role.Replace("-", " "))}", $"{role}@{domain}");
            }
            else
            {
                var first = FirstNames[rng.Next(FirstNames.Length)];
                var last = LastNames[rng.Next(LastNames.Length)];
                var local = rng.NextDouble() < 0.75 ? $"{first}.{last}" : $"{first[0]}{last}";
                candidate = new Sender($"{Capitalize(first)} {Capitalize(last)}", $"{local}@{domain}");
            }
            if (senders.Any(s => s.Address.Contains(candidate.Address, StringComparison.Ordinal) || candidate.Address.Contains(s.Address, StringComparison.Ordinal)))
                continue;
            senders.Add(candidate);
        }
        // Shuffle so the busiest senders (top Zipf ranks) aren't all colleagues.
        var shuffled = senders.OrderBy(_ => rng.Next()).ToArray();
        return (shuffled, colleagues);
    }

    // ---- helpers ------------------------------------------------------------------------

    private static double[] Cdf(int n, Func<int, double> weight)
    {
        var cdf = new double[n];
        var sum = 0.0;
        for (var r = 0; r < n; r++) cdf[r] = sum += weight(r);
        for (var r = 0; r < n; r++) cdf[r] /= sum;
        return cdf;
    }

    private static int Sample(Random rng, double[] cdf)
    {
        var i = Array.BinarySearch(cdf, rng.NextDouble());
        return Math.Min(i < 0 ? ~i : i, cdf.Length - 1);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static string Capitalize(string word) => char.ToUpperInvariant(word[0]) + word[1..];
}
