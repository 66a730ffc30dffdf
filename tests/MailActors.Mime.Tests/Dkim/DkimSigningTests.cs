using System.Text;
using MailActors.Mime.Dkim;
using MimeKit;
using MimeKit.Cryptography;
using Xunit;

namespace MailActors.Mime.Tests.Dkim;

public sealed class DkimSigningTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 4, 10, 30, 0, TimeSpan.FromHours(1));

    private static MimeMessage Message(string from = "alice@example.com")
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Alice", from));
        message.To.Add(new MailboxAddress("Bob", "bob@example.org"));
        message.Subject = "Quarterly report";
        message.Date = Now;
        message.MessageId = "q1@example.com";
        message.Body = new TextPart("plain") { Text = "Hello Bob,\nthe numbers are in.\n" };
        return message;
    }

    private static Dictionary<string, string> Tags(MimeMessage message) =>
        message.Headers[HeaderId.DkimSignature]!
            .Split(';')
            .Select(t => t.Split('=', 2))
            .ToDictionary(t => t[0].Trim(), t => string.Concat(t[1].Where(c => !char.IsWhiteSpace(c))));

    [Fact]
    public async Task A_signed_message_verifies_against_the_published_record()
    {
        var message = Message();

        DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now);

        Assert.Equal(HeaderId.DkimSignature, message.Headers[0].Id);
        var tags = Tags(message);
        Assert.Equal("example.com", tags["d"]);
        Assert.Equal("mail", tags["s"]);
        Assert.Equal("rsa-sha256", tags["a"]);
        Assert.Equal("relaxed/relaxed", tags["c"]);
        Assert.Equal(Now.ToUnixTimeSeconds().ToString(), tags["t"]);
        // Only headers the message has: no Cc, Reply-To, In-Reply-To or References here.
        Assert.Equal("from:to:subject:date:message-id:mime-version:content-type", tags["h"]);
        Assert.True(await DkimTestKeys.VerifiesAsync(DkimTestKeys.Wire(message), DkimTestKeys.ExampleCom));
    }

    [Fact]
    public async Task A_changed_body_fails_verification()
    {
        var message = Message();
        DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now);
        var wire = Encoding.ASCII.GetString(DkimTestKeys.Wire(message));

        var tampered = wire.Replace("the numbers are in", "the numbers are up");

        Assert.NotEqual(wire, tampered);
        Assert.False(await DkimTestKeys.VerifiesAsync(Encoding.ASCII.GetBytes(tampered), DkimTestKeys.ExampleCom));
    }

    [Fact]
    public async Task A_changed_subject_fails_verification()
    {
        var message = Message();
        DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now);
        var wire = Encoding.ASCII.GetString(DkimTestKeys.Wire(message));

        var tampered = wire.Replace("Subject: Quarterly report", "Subject: Quarterly rep0rt");

        Assert.NotEqual(wire, tampered);
        Assert.False(await DkimTestKeys.VerifiesAsync(Encoding.ASCII.GetBytes(tampered), DkimTestKeys.ExampleCom));
    }

    [Fact]
    public async Task Refolding_headers_and_trailing_whitespace_in_transit_still_verify()
    {
        var message = Message();
        DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now);
        var wire = Encoding.ASCII.GetString(DkimTestKeys.Wire(message));

        // What relaxed/relaxed is for: a relay refolds a header and pads a body line.
        var relayed = wire.Replace("Subject: Quarterly report", "Subject: Quarterly\r\n  report")
            .Replace("the numbers are in.", "the numbers are in.  ");

        Assert.True(await DkimTestKeys.VerifiesAsync(Encoding.ASCII.GetBytes(relayed), DkimTestKeys.ExampleCom));
    }

    [Theory]
    [InlineData("alice@example.org")]
    [InlineData("alice@badexample.com")]
    [InlineData("alice@example.com.evil.test")]
    public void A_from_address_outside_the_key_domain_is_refused(string from)
    {
        var message = Message(from);

        Assert.Throws<ArgumentException>(() => DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now));
        Assert.False(message.Headers.Contains(HeaderId.DkimSignature));
    }

    [Fact]
    public void Every_from_mailbox_must_be_in_the_domain()
    {
        var message = Message();
        message.From.Add(new MailboxAddress("Mallory", "mallory@example.net"));

        Assert.Throws<ArgumentException>(() => DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now));
    }

    [Fact]
    public async Task A_subdomain_sender_is_signed_by_the_parent_domain()
    {
        var message = Message("news@Lists.Example.com");

        DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now);

        Assert.True(await DkimTestKeys.VerifiesAsync(DkimTestKeys.Wire(message), DkimTestKeys.ExampleCom));
    }

    [Fact]
    public async Task A_reply_with_cc_signs_every_listed_header_present()
    {
        var message = Message();
        message.Cc.Add(new MailboxAddress("Carol", "carol@example.org"));
        message.ReplyTo.Add(new MailboxAddress("Team", "team@example.com"));
        message.InReplyTo = "q0@example.org";
        message.References.Add("q0@example.org");

        DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now);

        Assert.Equal("from:to:cc:subject:date:message-id:mime-version:content-type:reply-to:in-reply-to:references", Tags(message)["h"]);
        Assert.True(await DkimTestKeys.VerifiesAsync(DkimTestKeys.Wire(message), DkimTestKeys.ExampleCom));
    }

    [Fact]
    public async Task A_non_ascii_subject_with_an_attachment_verifies()
    {
        var message = Message();
        message.Subject = "Grüße aus Köln – 報告書";
        var body = new BodyBuilder { TextBody = "Hallo Bob,\nanbei der Bericht. Schöne Grüße\n", HtmlBody = "<p>Schöne Grüße</p>" };
        var attachment = new byte[50_000];
        new Random(7).NextBytes(attachment);
        body.Attachments.Add("bericht-ü.pdf", attachment, new ContentType("application", "pdf"));
        message.Body = body.ToMessageBody();

        DkimSigning.Sign(message, DkimTestKeys.ExampleCom, Now);
        var wire = DkimTestKeys.Wire(message);

        Assert.All(wire, b => Assert.True(b < 0x80)); // prepared for 7-bit relays before signing
        Assert.True(await DkimTestKeys.VerifiesAsync(wire, DkimTestKeys.ExampleCom));
        using var received = MimeMessage.Load(new MemoryStream(wire));
        Assert.Equal("Grüße aus Köln – 報告書", received.Subject);
        Assert.Equal(attachment, ((MemoryStream)DecodedAttachment(received)).ToArray());
    }

    private static Stream DecodedAttachment(MimeMessage message)
    {
        var output = new MemoryStream();
        message.Attachments.OfType<MimePart>().Single().Content!.DecodeTo(output);
        return output;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_raw_message_signed_as_a_stream_verifies(bool seekable)
    {
        // As received over SMTP and kept as a blob: 8-bit UTF-8 body, bare LF line endings.
        const string raw =
            "From: Alice <alice@example.com>\n" +
            "To: bob@example.org\n" +
            "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n" +
            "Date: Tue, 04 Mar 2025 10:30:00 +0100\n" +
            "Message-ID: <raw1@example.com>\n" +
            "MIME-Version: 1.0\n" +
            "Content-Type: text/plain; charset=utf-8\n" +
            "Content-Transfer-Encoding: 8bit\n" +
            "\n" +
            "Grüße, Bob.\n" +
            "Zweite Zeile.\n";
        var bytes = Encoding.UTF8.GetBytes(raw);
        Stream source = seekable ? new MemoryStream(bytes) : new NonSeekableStream(bytes);
        using var destination = new MemoryStream();

        await DkimSigning.SignAsync(source, destination, DkimTestKeys.ExampleCom, Now, CancellationToken.None);

        var wire = destination.ToArray();
        var text = Encoding.ASCII.GetString(wire);
        Assert.StartsWith("DKIM-Signature:", text);
        Assert.DoesNotContain("\n", text.Replace("\r\n", ""));
        Assert.True(await DkimTestKeys.VerifiesAsync(wire, DkimTestKeys.ExampleCom));
        using var received = MimeMessage.Load(new MemoryStream(wire));
        Assert.Equal("Grüße, Bob.\nZweite Zeile.\n", received.TextBody!.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task SignAsync_refuses_a_raw_message_from_another_domain()
    {
        var raw = Encoding.ASCII.GetBytes("From: mallory@example.net\r\nSubject: hi\r\n\r\nbody\r\n");
        using var destination = new MemoryStream();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            DkimSigning.SignAsync(new MemoryStream(raw), destination, DkimTestKeys.ExampleCom, Now, CancellationToken.None));
        Assert.Equal(0, destination.Length);
    }

    [Fact]
    public async Task The_locator_reports_a_missing_record_and_finds_a_published_one()
    {
        var key = DkimTestKeys.ExampleCom;
        var locator = DkimTestKeys.Locator(key);

        var found = await locator.LocatePublicKeyAsync("dns/txt", "example.com", "mail");
        Assert.False(found.IsPrivate);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => locator.LocatePublicKeyAsync("dns/txt", "example.com", "other"));
        Assert.Throws<NotSupportedException>(() => locator.LocatePublicKey("http/well-known", "example.com", "mail"));

        // A verifier that cannot find the key does not report the message as valid.
        var message = Message();
        DkimSigning.Sign(message, DkimTestKeys.NewKey("example.com", "rotated"), Now);
        var verifier = new DkimVerifier(locator);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => verifier.VerifyAsync(message, message.Headers[0], CancellationToken.None));
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    }
}
