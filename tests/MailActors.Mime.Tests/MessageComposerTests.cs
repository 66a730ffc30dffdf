using System.Text;
using MimeKit;
using Xunit;

namespace MailActors.Mime.Tests;

public sealed class MessageComposerTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 4, 10, 30, 0, TimeSpan.FromHours(1));
    private static readonly ComposeLimits Limits = new();

    [Fact]
    public async Task A_valid_request_round_trips_through_the_written_bytes()
    {
        var pdf = RandomBytes(100_000, seed: 3);
        var request = Request() with
        {
            To = ["Bob <bob@example.org>"],
            Cc = ["carol@example.org"],
            Bcc = ["dave@example.org"],
            Text = "Hi Bob,\nthe report.",
            Attachments = [new ComposeAttachment("report.pdf", "application/pdf", new NonSeekableStream(pdf))],
        };

        var result = MessageComposer.Build(request, Limits, Now, "mail.example.com");

        Assert.True(result.Ok, string.Join("; ", result.Errors));
        Assert.Empty(result.Errors);
        using var built = result.Message!;
        var bytes = await WriteAsync(built, includeBcc: true);
        using var parsed = MimeMessage.Load(new MemoryStream(bytes));

        Assert.Equal("\"Alice Example\" <alice@example.com>", parsed.From.ToString());
        Assert.Equal("bob@example.org", Assert.Single(parsed.To.Mailboxes).Address);
        Assert.Equal("Bob", parsed.To.Mailboxes.Single().Name);
        Assert.Equal("carol@example.org", Assert.Single(parsed.Cc.Mailboxes).Address);
        Assert.Equal("dave@example.org", Assert.Single(parsed.Bcc.Mailboxes).Address);
        Assert.Equal("Quarterly report", parsed.Subject);
        Assert.EndsWith("@mail.example.com", parsed.MessageId);
        Assert.Equal(built.MessageId, parsed.MessageId);
        Assert.Equal(Now, parsed.Date);
        Assert.Equal("1.0", parsed.Headers[HeaderId.MimeVersion]);
        Assert.Equal("Hi Bob,\nthe report.", parsed.TextBody?.ReplaceLineEndings("\n"));
        Assert.Contains("\r\n\r\nHi Bob,\r\nthe report.", Encoding.ASCII.GetString(bytes)); // CRLF on the wire
        Assert.Null(parsed.HtmlBody);
        var attachment = Assert.IsType<MimePart>(Assert.Single(parsed.Attachments));
        Assert.Equal("report.pdf", attachment.FileName);
        Assert.Equal("application/pdf", attachment.ContentType.MimeType);
        Assert.Equal(ContentEncoding.Base64, attachment.ContentTransferEncoding);
        Assert.True(attachment.IsAttachment);
        var decoded = new MemoryStream();
        attachment.Content!.DecodeTo(decoded);
        Assert.Equal(pdf, decoded.ToArray());
        Assert.All(bytes, b => Assert.True(b < 128)); // 7-bit clean: any SMTP server takes it
    }

    [Fact]
    public async Task Bcc_is_written_only_for_the_senders_copy()
    {
        var request = Request() with { To = ["bob@example.org"], Cc = ["BOB@example.org"], Bcc = ["dave@example.org"] };
        using var message = MessageComposer.Build(request, Limits, Now, "example.com").Message!;

        var delivered = await WriteAsync(message, includeBcc: false);
        var sent = await WriteAsync(message, includeBcc: true);

        Assert.DoesNotContain("Bcc:", Encoding.ASCII.GetString(delivered));
        Assert.DoesNotContain("dave@example.org", Encoding.ASCII.GetString(delivered));
        Assert.Contains("Bcc: dave@example.org\r\n", Encoding.ASCII.GetString(sent));
        Assert.Equal(["bob@example.org", "dave@example.org"], MessageComposer.AllRecipients(message));
    }

    [Theory]
    [InlineData("bob@")]
    [InlineData("@example.org")]
    [InlineData("bob")]
    [InlineData("bob@@example.org")]
    [InlineData("bob@exa mple.org")]
    [InlineData("a@example.org, b@example.org")]
    [InlineData("team: a@example.org, b@example.org;")]
    [InlineData("bob@example.org\r\nBcc: evil@example.net")]
    public void Invalid_addresses_are_reported_by_field(string address)
    {
        var result = MessageComposer.Build(Request() with { To = ["ok@example.org"], Cc = [address] }, Limits, Now, "example.com");

        Assert.False(result.Ok);
        Assert.Null(result.Message);
        var error = Assert.Single(result.Errors);
        Assert.Equal("cc", error.Field);
        Assert.EndsWith("' is not a valid address", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void The_error_names_the_address()
    {
        var result = MessageComposer.Build(Request() with { To = ["bob@"] }, Limits, Now, "example.com");

        Assert.Equal([new ComposeError("to", "'bob@' is not a valid address")], result.Errors);
    }

    [Fact]
    public void Header_injection_through_the_subject_or_name_is_refused()
    {
        var result = MessageComposer.Build(
            Request() with { Subject = "x\r\nBcc: evil@example.net", FromName = "Alice\r\nBcc: evil@example.net" },
            Limits, Now, "example.com");

        Assert.False(result.Ok);
        Assert.Equal(["fromName", "subject"], result.Errors.Select(e => e.Field).Order());
    }

    [Fact]
    public void Recipients_are_required_and_bounded()
    {
        var none = MessageComposer.Build(Request() with { To = ["", "  "] }, Limits, Now, "example.com");
        Assert.Equal([new ComposeError("to", "at least one recipient is required")], none.Errors);

        var many = Enumerable.Range(0, 60).Select(i => $"r{i}@example.org").ToList();
        var tooMany = MessageComposer.Build(Request() with { To = many, Bcc = many[..41] }, Limits, Now, "example.com");
        Assert.Equal([new ComposeError("to", "too many recipients (max 100)")], tooMany.Errors);

        var justEnough = MessageComposer.Build(Request() with { To = many, Bcc = many[..40] }, Limits, Now, "example.com");
        Assert.True(justEnough.Ok);
        justEnough.Message!.Dispose();
    }

    [Fact]
    public void The_subject_may_be_empty_but_not_too_long()
    {
        var empty = MessageComposer.Build(Request() with { Subject = "" }, Limits, Now, "example.com");
        Assert.True(empty.Ok);
        empty.Message!.Dispose();

        var tooLong = MessageComposer.Build(Request() with { Subject = new string('s', 999) }, Limits, Now, "example.com");
        Assert.Equal([new ComposeError("subject", "the subject is too long (max 998 characters)")], tooLong.Errors);
    }

    [Fact]
    public void Oversize_attachments_are_refused()
    {
        var big = new byte[Limits.MaxAttachmentBytes + 1];
        var result = MessageComposer.Build(
            Request() with
            {
                Attachments =
                [
                    new ComposeAttachment("small.txt", "text/plain", new MemoryStream("ok"u8.ToArray())),
                    new ComposeAttachment("big.pdf", "application/pdf", new MemoryStream(big)),
                    new ComposeAttachment("big.bin", "application/octet-stream", new NonSeekableStream(big)),
                ],
            },
            Limits, Now, "example.com");

        Assert.Equal(
            [
                new ComposeError("attachments[1]", "attachment 'big.pdf' is larger than 25 MB"),
                new ComposeError("attachments[2]", "attachment 'big.bin' is larger than 25 MB"),
            ],
            result.Errors);
    }

    [Fact]
    public void Attachments_are_bounded_in_total_and_in_number()
    {
        var limits = new ComposeLimits { MaxAttachmentBytes = 600, MaxTotalBytes = 1000, MaxAttachments = 2 };
        ComposeAttachment Attachment(string name) => new(name, "application/octet-stream", new MemoryStream(new byte[501]));

        var total = MessageComposer.Build(Request() with { Attachments = [Attachment("a"), Attachment("b")] }, limits, Now, "example.com");
        Assert.Equal([new ComposeError("attachments", "the attachments are larger than 1000 bytes together")], total.Errors);

        var count = MessageComposer.Build(Request() with { Attachments = [Attachment("a"), Attachment("b"), Attachment("c")] }, limits, Now, "example.com");
        Assert.Equal([new ComposeError("attachments", "too many attachments (max 2)")], count.Errors);
    }

    [Fact]
    public async Task Html_only_gets_a_text_alternative()
    {
        var result = MessageComposer.Build(Request() with { Text = null, Html = "<p>Hello <b>World</b></p><p>Bye</p>" }, Limits, Now, "example.com");
        using var message = result.Message!;

        using var parsed = MimeMessage.Load(new MemoryStream(await WriteAsync(message, includeBcc: false)));

        var alternative = Assert.IsType<MultipartAlternative>(parsed.Body);
        Assert.Equal(["text/plain", "text/html"], alternative.Select(p => p.ContentType.MimeType));
        Assert.Equal("Hello World\n\nBye", parsed.TextBody);
        Assert.Equal("<p>Hello <b>World</b></p><p>Bye</p>", parsed.HtmlBody);
    }

    [Fact]
    public async Task Non_ascii_subject_names_and_file_names_are_encoded()
    {
        var request = Request() with
        {
            FromName = "Jörg Müller",
            Subject = "Grüße aus München 👋",
            Text = "Schöne Grüße",
            Attachments = [new ComposeAttachment("Übersicht 2025.pdf", "application/pdf", new MemoryStream([1, 2, 3]))],
        };
        using var message = MessageComposer.Build(request, Limits, Now, "example.com").Message!;

        var bytes = await WriteAsync(message, includeBcc: false);
        var raw = Encoding.ASCII.GetString(bytes);
        using var parsed = MimeMessage.Load(new MemoryStream(bytes));

        Assert.All(bytes, b => Assert.True(b < 128));
        Assert.Contains("Subject: =?utf-8?", raw);
        Assert.Contains("filename*=", raw); // RFC 2231
        Assert.Equal("Grüße aus München 👋", parsed.Subject);
        Assert.Equal("Jörg Müller", parsed.From.Mailboxes.Single().Name);
        Assert.Equal("Schöne Grüße", parsed.TextBody);
        Assert.Equal("Übersicht 2025.pdf", Assert.IsType<MimePart>(Assert.Single(parsed.Attachments)).FileName);
    }

    [Fact]
    public async Task A_reply_refers_to_the_original()
    {
        using var message = MessageComposer.Build(Request() with { InReplyTo = "<orig@example.org>" }, Limits, Now, "example.com").Message!;

        using var parsed = MimeMessage.Load(new MemoryStream(await WriteAsync(message, includeBcc: false)));

        Assert.Equal("orig@example.org", parsed.InReplyTo);
        Assert.Equal(["orig@example.org"], parsed.References);

        var bad = MessageComposer.Build(Request() with { InReplyTo = "a b\r\nBcc: x@y" }, Limits, Now, "example.com");
        Assert.Equal("inReplyTo", Assert.Single(bad.Errors).Field);
    }

    private static ComposeRequest Request() => new(
        "alice@example.com", "Alice Example", ["bob@example.org"], [], [], "Quarterly report", "Hello", null, []);

    private static async Task<byte[]> WriteAsync(MimeMessage message, bool includeBcc)
    {
        var destination = new MemoryStream();
        await MessageComposer.WriteAsync(message, destination, includeBcc, default);
        return destination.ToArray();
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Like a request body: readable once, no length.</summary>
    private sealed class NonSeekableStream(byte[] content) : Stream
    {
        private readonly MemoryStream _inner = new(content);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
