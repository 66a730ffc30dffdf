using MailActors.Core;
using Xunit;

namespace MailActors.Core.Tests;

public class ValueTypeTests
{
    [Theory]
    [InlineData("Alice@Example.COM", "alice@example.com")]
    [InlineData("  bob@localhost ", "bob@localhost")]
    public void Addresses_are_normalized(string input, string expected) => Assert.Equal(expected, MailboxId.Parse(input).Value);

    [Theory]
    [InlineData("")]
    [InlineData("no-at-sign")]
    [InlineData("@example.com")]
    [InlineData("alice@")]
    [InlineData("a@b@c")]
    [InlineData("a b@c")]
    [InlineData("a@.c")]
    [InlineData("a@c..d")]
    [InlineData("<a@b>")]
    public void Malformed_addresses_are_refused(string input) => Assert.False(MailboxId.TryParse(input, out _, out _));

    [Fact]
    public void Overlong_addresses_are_refused() =>
        Assert.False(MailboxId.TryParse(new string('a', 250) + "@b.cd", out _, out _));

    [Fact]
    public void Blob_ids_round_trip_through_hex()
    {
        var id = BlobId.Of("hello"u8);
        Assert.Equal("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", id.ToString());
        Assert.Equal(id, BlobId.Parse(id.ToString()));
        Assert.False(BlobId.TryParse("xyz", out _));
    }

    [Fact]
    public void Passwords_verify_only_with_the_right_password()
    {
        var hash = PasswordHasher.Hash("correct horse battery", PasswordHasher.MinIterations);
        Assert.StartsWith("pbkdf2-sha256$100000$", hash);
        Assert.True(PasswordHasher.Verify("correct horse battery", hash));
        Assert.False(PasswordHasher.Verify("correct horse batterx", hash));
        Assert.False(PasswordHasher.Verify("x", "not-a-hash"));
        Assert.Throws<ArgumentOutOfRangeException>(() => PasswordHasher.Hash("pw", 1000));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("")]
    public void Weak_passwords_fail_the_policy(string password) => Assert.NotNull(PasswordHasher.CheckPolicy(password));

    [Fact]
    public void Cursors_round_trip()
    {
        Assert.True(MessageCursor.TryDecode(MessageCursor.Encode(12345), out var id));
        Assert.Equal(12345, id);
    }
}

public class PackedTextTests
{
    [Theory]
    [InlineData("Hello", "<id@x>", "snippet text")]
    [InlineData("", null, "")]
    [InlineData("Grüße ✓ 日本語", null, "émoji 😀 end")]
    public void Subject_message_id_and_snippet_round_trip(string subject, string? messageId, string snippet)
    {
        var packed = PackedText.Pack(subject, messageId, snippet);
        Assert.Equal((subject, messageId, snippet), PackedText.Unpack(packed));
    }

    [Fact]
    public void Long_subjects_use_multi_byte_lengths()
    {
        var subject = new string('s', 1000);
        Assert.Equal((subject, "<m>", "x"), PackedText.Unpack(PackedText.Pack(subject, "<m>", "x")));
    }

    [Fact]
    public void Snippets_are_cut_without_splitting_a_surrogate_pair()
    {
        var state = Fixtures.Registered();
        var snippet = new string('a', MessageMetadata.MaxSnippetLength - 1) + "😀tail";
        var meta = Fixtures.Meta() with { Snippet = snippet };
        var id = state.Run<MessageDeliveredReply>(new DeliverMessage(Fixtures.Alice, "d", meta)).MessageId;
        var stored = state.Run<MessageReply>(new GetMessage(Fixtures.Alice, id)).Message.Metadata.Snippet;
        Assert.Equal(MessageMetadata.MaxSnippetLength - 1, stored.Length);
    }
}
