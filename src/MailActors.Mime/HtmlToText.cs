using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace MailActors.Mime;

/// <summary>
/// Plain text from HTML, for the text view of an HTML-only message and the text alternative of
/// a composed one: block elements become line breaks, list items get a dash, links keep their
/// target as "text &lt;url&gt;". MimeKit 4 has no HTML-to-text converter, so this walks
/// AngleSharp's DOM (already here through HtmlSanitizer).
/// </summary>
internal static class HtmlToText
{
    private static readonly HashSet<string> Skipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "head", "title", "script", "style", "template", "noscript", "iframe", "object", "svg",
    };

    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "address", "article", "aside", "blockquote", "center", "dd", "details", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav",
        "ol", "pre", "section", "summary", "table", "tr", "ul",
    };

    private static readonly HashSet<string> Paragraphs = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6",
    };

    public static string Convert(string html, int maxChars)
    {
        var document = new HtmlParser().ParseDocument(html);
        var writer = new Writer(maxChars);
        if (document.Body is { } body) writer.Walk(body, preformatted: false);
        return writer.ToString();
    }

    private sealed class Writer(int maxChars)
    {
        private readonly StringBuilder _text = new();
        private int _pendingNewLines;
        private bool _pendingSpace;

        private bool Full => _text.Length >= maxChars;

        public void Walk(INode node, bool preformatted)
        {
            foreach (var child in node.ChildNodes)
            {
                if (Full) return;
                switch (child)
                {
                    case IText text:
                        AppendText(text.Data, preformatted);
                        break;
                    case IElement element:
                        WalkElement(element, preformatted);
                        break;
                }
            }
        }

        private void WalkElement(IElement element, bool preformatted)
        {
            var name = element.LocalName;
            if (Skipped.Contains(name)) return;
            switch (name)
            {
                case "br":
                    NewLines(1, force: true);
                    return;
                case "img" when element.GetAttribute("alt") is { Length: > 0 } alt:
                    AppendText(alt, preformatted);
                    return;
                case "td" or "th":
                    _pendingSpace = true;
                    Walk(element, preformatted);
                    return;
            }

            var paragraph = Paragraphs.Contains(name);
            var block = paragraph || Blocks.Contains(name);
            if (block) NewLines(paragraph ? 2 : 1);
            if (name == "li") AppendText("- ", preformatted: true);

            Walk(element, preformatted || name == "pre");

            if (name == "a" && element.GetAttribute("href") is { } href && IsShownLink(href) && !element.TextContent.Contains(href, StringComparison.Ordinal))
            {
                _pendingSpace = true;
                AppendText($"<{href}>", preformatted: true);
            }
            if (block) NewLines(paragraph ? 2 : 1);
        }

        private static bool IsShownLink(string href) =>
            href.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ||
            href.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ||
            href.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase);

        private void NewLines(int count, bool force = false)
        {
            if (_text.Length == 0 && !force) return; // no leading blank lines
            _pendingNewLines = force ? _pendingNewLines + count : Math.Max(_pendingNewLines, count);
            _pendingSpace = false;
        }

        private void AppendText(string data, bool preformatted)
        {
            if (preformatted)
            {
                Flush();
                Append(data);
                return;
            }

            // Outside <pre>, runs of whitespace (newlines included) are one space, as a browser shows them.
            var i = 0;
            while (i < data.Length)
            {
                if (char.IsWhiteSpace(data[i]))
                {
                    _pendingSpace = true;
                    i++;
                    continue;
                }
                var start = i;
                while (i < data.Length && !char.IsWhiteSpace(data[i])) i++;
                Flush();
                Append(data[start..i]);
            }
        }

        private void Flush()
        {
            if (_pendingNewLines > 0)
            {
                TrimTrailingSpaces();
                _text.Append('\n', Math.Min(_pendingNewLines, 2));
                _pendingNewLines = 0;
            }
            else if (_pendingSpace && _text.Length > 0 && !char.IsWhiteSpace(_text[^1]))
            {
                _text.Append(' ');
            }
            _pendingSpace = false;
        }

        private void Append(string s)
        {
            var room = maxChars - _text.Length;
            if (room <= 0) return;
            if (s.Length <= room)
            {
                _text.Append(s);
                return;
            }
            var cut = char.IsHighSurrogate(s[room - 1]) ? room - 1 : room;
            _text.Append(s, 0, cut);
        }

        private void TrimTrailingSpaces()
        {
            var end = _text.Length;
            while (end > 0 && _text[end - 1] is ' ' or '\t') end--;
            _text.Length = end;
        }

        public override string ToString() => _text.ToString().Trim();
    }
}
