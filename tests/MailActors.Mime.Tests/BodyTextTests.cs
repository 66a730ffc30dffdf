using System.Security.Cryptography;
using System.Text;
using MailActors.Core;
using MimeKit;
using Xunit;

namespace MailActors.Mime.Tests;

/// <summary>The body text the search index gets (MessageParser.BodyText and the parse that returns it).</summary>
public sealed class BodyTextTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("mailactors-bodytext-");

    public void Dispose()
    {
        try { _root.Delete(recursive: true); }
        catch (IOException) { /* best effort */ }
    }

    [Fact]
    public void Plain_text_body_is_the_text()
    {
        var message = Message(new TextPart("plain") { Text = "Hello Bob,\nthe invoice is attached.\n" });

        var text = MessageParser.BodyText(OverTheWire(message));

        Assert.Contains("Hello Bob,", text);
        Assert.Contains("the invoice is attached.", text);
    }

    [Fact]
    public void Html_only_body_becomes_text_without_scripts_or_styles_and_with_entities_decoded()
    {
        var message = Message(new TextPart("html")
        {
            Text = """
                <html><head><title>Newsletter title</title><style>p { color: hotpink; }</style></head>
                <body><p>Fish &amp; chips at the caf&eacute;</p>
                <script>trackReader('evil');</script>
                <p>Price: 5&nbsp;&euro; &lt;cheap&gt;</p></body></html>
                """,
        });

        var text = MessageParser.BodyText(OverTheWire(message));

        Assert.Contains("Fish & chips at the café", text);
        Assert.Contains("<cheap>", text);
        Assert.Contains("€", text);
        Assert.DoesNotContain("trackReader", text);
        Assert.DoesNotContain("hotpink", text);
        Assert.DoesNotContain("<p>", text);
        Assert.DoesNotContain("&amp;", text);
    }

    [Fact]
    public void Multipart_alternative_takes_the_plain_version()
    {
        var message = Message(new MultipartAlternative
        {
            new TextPart("plain") { Text = "the plain version" },
            new TextPart("html") { Text = "<p>the html version</p>" },
        });

        var text = MessageParser.BodyText(OverTheWire(message));

        Assert.Contains("the plain version", text);
        Assert.DoesNotContain("html version", text);
    }

    [Fact]
    public void Text_attachments_are_not_body_text()
    {
        var attachment = new TextPart("plain") { Text = "contents of notes.txt", FileName = "notes.txt" };
        attachment.ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "notes.txt" };
        var message = Message(new Multipart("mixed")
        {
            new TextPart("plain") { Text = "see the attached notes" },
            attachment,
        });

        var text = MessageParser.BodyText(OverTheWire(message));

        Assert.Contains("see the attached notes", text);
        Assert.DoesNotContain("notes.txt", text);
    }

    [Fact]
    public void Html_attachment_is_not_used_when_there_is_no_text_body()
    {
        var attachment = new TextPart("html") { Text = "<p>attached page</p>" };
        attachment.ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "page.html" };
        var message = Message(new Multipart("mixed")
        {
            new TextPart("html") { Text = "<p>inline html body</p>" },
            attachment,
        });

        var text = MessageParser.BodyText(OverTheWire(message));

        Assert.Contains("inline html body", text);
        Assert.DoesNotContain("attached page", text);
    }

    [Fact]
    public void Latin1_body_is_decoded_with_its_charset()
    {
        var raw = Encoding.ASCII.GetBytes("""
            From: a@example.com
            To: b@example.org
            Subject: Gruss
            MIME-Version: 1.0
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: 8bit


            """.ReplaceLineEndings("\r\n"))
            .Concat(Encoding.Latin1.GetBytes("Grüße aus Köln, à bientôt\r\n")).ToArray();

        var text = MessageParser.BodyText(MimeMessage.Load(new MemoryStream(raw)));

        Assert.Contains("Grüße aus Köln, à bientôt", text);
    }

    [Theory]
    [InlineData(ContentEncoding.QuotedPrintable)]
    [InlineData(ContentEncoding.Base64)]
    public void Transfer_encoded_body_is_decoded(ContentEncoding encoding)
    {
        var body = "Ünïcödé text with a long line " + new string('x', 120) + " and = signs";
        var part = new TextPart("plain") { ContentTransferEncoding = encoding };
        part.SetText(Encoding.UTF8, body);
        var wire = Serialize(Message(part));
        Assert.DoesNotContain("Ünïcödé", Encoding.UTF8.GetString(wire)); // really encoded on the wire

        var text = MessageParser.BodyText(MimeMessage.Load(new MemoryStream(wire)));

        Assert.Contains(body, text);
    }

    [Fact]
    public void Body_text_is_capped()
    {
        var line = "word " + new string('y', 70) + "\n";
        var body = string.Concat(Enumerable.Repeat(line, 2 * MessageParser.MaxBodyTextChars / line.Length));
        var message = Message(new Multipart("mixed")
        {
            new TextPart("plain") { Text = body },
            new TextPart("plain") { Text = "second part, past the cap" },
        });

        var text = MessageParser.BodyText(OverTheWire(message));

        Assert.Equal(MessageParser.MaxBodyTextChars, text.Length);
        Assert.StartsWith(line, text);
        Assert.DoesNotContain("past the cap", text);
    }

    [Fact]
    public void Html_body_text_is_capped()
    {
        var html = "<html><body>" + string.Concat(Enumerable.Repeat("<p>some words here</p>", MessageParser.MaxBodyTextChars / 4)) + "</body></html>";

        var text = MessageParser.BodyText(OverTheWire(Message(new TextPart("html") { Text = html })));

        Assert.InRange(text.Length, MessageParser.MaxBodyTextChars / 2, MessageParser.MaxBodyTextChars);
        Assert.DoesNotContain("<p>", text);
    }

    [Theory]
    [InlineData("Content-Type: text/plain; charset=x-no-such-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!* not base64 at all *!!!\r\n")]
    [InlineData("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part, never closed\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: x-made-up\r\n\r\n<p unclosed")]
    [InlineData("Content-Type: multipart/alternative\r\n\r\nno boundary parameter\r\n")]
    [InlineData("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>broken =ZZ escape =\r\n<script>never closed")]
    public void Broken_mime_gives_what_it_can_and_does_not_throw(string rest)
    {
        var raw = Encoding.ASCII.GetBytes("From: a@example.com\r\nSubject: broken\r\nMIME-Version: 1.0\r\n" + rest);

        var text = MessageParser.BodyText(MimeMessage.Load(new MemoryStream(raw)));

        Assert.NotNull(text);
        Assert.InRange(text.Length, 0, MessageParser.MaxBodyTextChars);
        if (rest.Contains("never closed\r\n--b")) Assert.Contains("first part, never closed", text);
    }

    [Fact]
    public async Task Body_text_of_a_stored_message_stream()
    {
        var message = Message(new MultipartAlternative
        {
            new TextPart("plain") { Text = "read from the blob" },
            new TextPart("html") { Text = "<p>not this</p>" },
        });
        using var stream = new MemoryStream(Serialize(message));

        var text = await MessageParser.BodyTextAsync(stream);

        Assert.Equal(MessageParser.BodyText(OverTheWire(message)), text);
        Assert.Contains("read from the blob", text);
    }

    [Fact]
    public async Task Body_text_of_a_stream_that_is_not_a_message_is_empty_or_text_never_an_error()
    {
        var garbage = new byte[4096];
        new Random(42).NextBytes(garbage);

        var text = await MessageParser.BodyTextAsync(new MemoryStream(garbage));

        Assert.NotNull(text);
        Assert.Equal("", await MessageParser.BodyTextAsync(new MemoryStream()));
    }

    [Fact]
    public async Task One_parse_gives_the_same_metadata_as_ParseAsync_and_the_body_text()
    {
        var attachment = new MimePart("application", "pdf")
        {
            Content = new MimeContent(new MemoryStream(RandomNumberGenerator.GetBytes(10_000))),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = "report.pdf",
        };
        var message = Message(new Multipart("mixed")
        {
            new MultipartAlternative
            {
                new TextPart("plain") { Text = "Quarterly numbers are in the attached report." },
                new TextPart("html") { Text = "<p>Quarterly numbers are in the <b>attached</b> report.</p>" },
            },
            attachment,
        });
        message.Cc.Add(new MailboxAddress("Carol", "carol@example.org"));
        var (path, blob, size) = Spool(Serialize(message));

        var expected = await MessageParser.ParseAsync(path, blob, size);
        var (metadata, bodyText) = await MessageParser.ParseWithBodyTextAsync(path, blob, size, CancellationToken.None);

        AssertSameMetadata(expected, metadata);
        Assert.Equal("Quarterly numbers", metadata.Subject[..17]);
        Assert.Equal("report.pdf", Assert.Single(metadata.Attachments).FileName);
        Assert.Equal(MessageParser.BodyText(OverTheWire(message)), bodyText);
        Assert.Contains("Quarterly numbers are in the attached report.", bodyText);
    }

    [Fact]
    public async Task One_parse_of_an_unparsable_file_gives_the_same_metadata_and_no_body_text()
    {
        var (path, blob, size) = Spool(Encoding.ASCII.GetBytes("this is not\r\na mail message at all: \0\0\0\r\n"));

        var expected = await MessageParser.ParseAsync(path, blob, size);
        var (metadata, bodyText) = await MessageParser.ParseWithBodyTextAsync(path, blob, size, CancellationToken.None);

        AssertSameMetadata(expected, metadata);
        Assert.Equal("(message could not be parsed)", metadata.Subject);
        await using var stored = File.OpenRead(path);
        Assert.Equal(await MessageParser.BodyTextAsync(stored), bodyText); // what the mailbox would read itself
        Assert.Equal("", bodyText);
    }

    private static void AssertSameMetadata(MessageMetadata expected, MessageMetadata actual)
    {
        // A record with lists: compare by value, list by list.
        Assert.Equal(expected with { To = [], Cc = [], Attachments = [] }, actual with { To = [], Cc = [], Attachments = [] });
        Assert.Equal(expected.To, actual.To);
        Assert.Equal(expected.Cc, actual.Cc);
        Assert.Equal(expected.Attachments, actual.Attachments);
    }

    private (string Path, BlobId Blob, long Size) Spool(byte[] bytes)
    {
        var path = Path.Combine(_root.FullName, Guid.NewGuid().ToString("N") + ".eml");
        File.WriteAllBytes(path, bytes);
        return (path, BlobId.FromHash(SHA256.HashData(bytes)), bytes.Length);
    }

    private static MimeMessage Message(MimeEntity body)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Alice", "alice@example.com"));
        message.To.Add(new MailboxAddress("Bob", "bob@example.org"));
        message.Subject = "Quarterly numbers";
        message.Date = new DateTimeOffset(2025, 3, 4, 10, 0, 0, TimeSpan.FromHours(1));
        message.MessageId = "m1@example.com";
        message.Body = body;
        return message;
    }

    private static byte[] Serialize(MimeMessage message)
    {
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>The message as a receiver sees it: written out and parsed again.</summary>
    private static MimeMessage OverTheWire(MimeMessage message) => MimeMessage.Load(new MemoryStream(Serialize(message)));
}
