using System.Buffers;
using System.Text;
using Xunit;

namespace MailActors.Smtp.Tests;

public class DataDecoderTests
{
    private static (string Content, DataDecoder Decoder, long Consumed) Decode(string wire, bool dotStuffed = true, long maxSize = 1 << 20, int maxLine = 1000, int maxHeader = 10_000, bool byteByByte = false)
    {
        var decoder = new DataDecoder(maxSize, maxLine, maxHeader, dotStuffed);
        var output = new ArrayBufferWriter<byte>();
        var bytes = Encoding.UTF8.GetBytes(wire);
        long consumed = 0;
        if (byteByByte)
        {
            for (var i = 0; i < bytes.Length && !decoder.Ended; i++) consumed += decoder.Decode(new ReadOnlySequence<byte>(bytes, i, 1), output);
        }
        else consumed = decoder.Decode(new ReadOnlySequence<byte>(bytes), output);
        return (Encoding.UTF8.GetString(output.WrittenSpan), decoder, consumed);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ends_at_crlf_dot_crlf_and_unstuffs_leading_dots(bool byteByByte)
    {
        var (content, decoder, consumed) = Decode("Subject: x\r\n\r\n..leading dot\r\n.\r\nMAIL FROM:<next>\r\n", byteByByte: byteByByte);
        Assert.True(decoder.Ended);
        Assert.Equal("Subject: x\r\n\r\n.leading dot\r\n", content);
        Assert.Equal("Subject: x\r\n\r\n..leading dot\r\n.\r\n".Length, consumed);
        Assert.Null(decoder.Rejection);
    }

    [Fact]
    public void An_empty_message_ends_at_once() => Assert.True(Decode(".\r\n").Decoder.Ended);

    [Theory]
    [InlineData("a\r\n\n.\r\nMAIL FROM:<evil>\r\n")] // LF . CRLF
    [InlineData("a\n.\nMAIL FROM:<evil>\r\n")]       // LF . LF
    [InlineData("a\r\n.\nMAIL FROM:<evil>\r\n")]     // CRLF . LF
    [InlineData("a\r.\rMAIL FROM:<evil>\r\n")]       // CR . CR
    [InlineData("a\r\n.\rMAIL FROM:<evil>\r\n")]     // CRLF . CR
    public void Smuggling_forms_do_not_end_data_and_mark_the_message(string smuggled)
    {
        var (content, decoder, _) = Decode(smuggled + "more\r\n.\r\n");
        Assert.True(decoder.Ended);
        Assert.Contains("MAIL FROM:<evil>", content);
        Assert.True(decoder.BareLineBreak);
        Assert.StartsWith("554 5.6.11", decoder.Rejection);
    }

    [Fact]
    public void Bdat_content_is_raw_with_no_terminator()
    {
        var (content, decoder, consumed) = Decode("line\r\n.\r\nmore\r\n", dotStuffed: false);
        Assert.False(decoder.Ended);
        Assert.Equal("line\r\n.\r\nmore\r\n", content);
        Assert.Equal(content.Length, consumed);
    }

    [Fact]
    public void Oversize_messages_are_read_to_the_end_but_not_stored()
    {
        var (content, decoder, _) = Decode("Subject: x\r\n\r\n" + new string('a', 500) + "\r\n.\r\n", maxSize: 100);
        Assert.True(decoder.Ended);
        Assert.True(decoder.TooBig);
        Assert.True(content.Length <= 100);
        Assert.StartsWith("552 5.3.4", decoder.Rejection);
    }

    [Fact]
    public void Overlong_lines_are_refused()
    {
        var (_, decoder, _) = Decode("Subject: x\r\n\r\n" + new string('a', 1001) + "\r\n.\r\n", maxLine: 1000);
        Assert.StartsWith("554 5.6.0", decoder.Rejection);
        Assert.Null(Decode("Subject: x\r\n\r\n" + new string('a', 1000) + "\r\n.\r\n", maxLine: 1000).Decoder.Rejection);
    }

    [Fact]
    public void Oversize_header_sections_are_refused()
    {
        var headers = string.Concat(Enumerable.Range(0, 100).Select(i => $"X-H{i}: {new string('v', 100)}\r\n"));
        var (_, decoder, _) = Decode(headers + "\r\nbody\r\n.\r\n", maxHeader: 5000);
        Assert.True(decoder.HeaderTooLarge);
        Assert.StartsWith("554 5.6.0", decoder.Rejection);
        Assert.False(Decode("Subject: a\r\n\r\n" + new string('b', 900) + "\r\n.\r\n", maxHeader: 100).Decoder.HeaderTooLarge);
    }
}
