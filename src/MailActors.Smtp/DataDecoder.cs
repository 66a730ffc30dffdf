using System.Buffers;

namespace MailActors.Smtp;

/// <summary>
/// Turns the bytes of a DATA (dot-stuffed) or BDAT (raw) body into message content, as a
/// byte-level state machine that never buffers a line. Only CRLF "." CRLF ends DATA: LF "."
/// LF, LF "." CRLF and CR "." CR are content (the SMTP smuggling forms), and any bare CR or LF
/// marks the message so the session refuses it (RFC 5321 §2.3.8). It also watches the limits:
/// message size, line length, header section size.
/// </summary>
internal sealed class DataDecoder(long maxSize, int maxLineLength, int maxHeaderBytes, bool dotStuffed)
{
    private enum State : byte { LineStart, Dot, DotCr, Mid, Cr }

    private State _state = State.LineStart;
    private int _lineLength;
    private bool _inHeaders = true;

    public long Size { get; private set; }
    public long HeaderBytes { get; private set; }
    public bool BareLineBreak { get; private set; }
    public bool LineTooLong { get; private set; }
    public bool HeaderTooLarge => HeaderBytes > maxHeaderBytes;
    public bool TooBig => Size > maxSize;
    public bool Ended { get; private set; }

    /// <summary>Why the content can't be accepted, as an SMTP reply, or null.</summary>
    public string? Rejection =>
        TooBig ? $"552 5.3.4 Message too big (limit {maxSize} bytes)"
        : BareLineBreak ? "554 5.6.11 Message refused: bare CR or LF in content (RFC 5321 section 2.3.8)"
        : LineTooLong ? $"554 5.6.0 Message refused: a line is longer than {maxLineLength} bytes"
        : HeaderTooLarge ? $"554 5.6.0 Message refused: header section larger than {maxHeaderBytes} bytes"
        : null;

    /// <summary>
    /// Decodes <paramref name="input"/> into <paramref name="output"/> (nothing is written once a
    /// limit is crossed). Returns how many input bytes were consumed: all of them, or up to and
    /// including the terminating CRLF.CRLF.
    /// </summary>
    public long Decode(ReadOnlySequence<byte> input, IBufferWriter<byte> output)
    {
        long consumed = 0;
        foreach (var segment in input)
        {
            var span = segment.Span;
            var outSpan = output.GetSpan(span.Length + 2);
            var written = 0;
            for (var i = 0; i < span.Length; i++)
            {
                consumed++;
                var b = span[i];
                switch (_state)
                {
                    case State.LineStart when dotStuffed && b == (byte)'.':
                        _state = State.Dot;
                        break;
                    case State.Dot:
                        if (b == (byte)'\r') _state = State.DotCr;
                        else Content(b, outSpan, ref written); // the stuffing dot is dropped
                        break;
                    case State.DotCr:
                        if (b == (byte)'\n')
                        {
                            Ended = true;
                            output.Advance(written);
                            return consumed;
                        }
                        // ".\r<x>": a bare CR after a stuffing dot.
                        _state = State.Mid;
                        BareLineBreak = true;
                        Emit((byte)'\r', outSpan, ref written);
                        Content(b, outSpan, ref written);
                        break;
                    case State.Cr:
                        if (b == (byte)'\n')
                        {
                            Emit((byte)'\n', outSpan, ref written);
                            if (_inHeaders && _lineLength == 0) _inHeaders = false;
                            _lineLength = 0;
                            _state = State.LineStart;
                        }
                        else
                        {
                            BareLineBreak = true;
                            _state = State.Mid;
                            Content(b, outSpan, ref written);
                        }
                        break;
                    default: // LineStart (no dot) or Mid
                        Content(b, outSpan, ref written);
                        break;
                }
            }
            output.Advance(written);
        }
        return consumed;
    }

    /// <summary>A content byte in the middle of a line (CR and LF handled here too).</summary>
    private void Content(byte b, Span<byte> outSpan, ref int written)
    {
        switch (b)
        {
            case (byte)'\r':
                Emit(b, outSpan, ref written);
                _state = State.Cr;
                return;
            case (byte)'\n':
                // A bare LF is not a line break for SMTP: the next "." is not at a line start.
                BareLineBreak = true;
                Emit(b, outSpan, ref written);
                _state = State.Mid;
                return;
            default:
                Emit(b, outSpan, ref written);
                _state = State.Mid;
                if (++_lineLength > maxLineLength) LineTooLong = true;
                return;
        }
    }

    private void Emit(byte b, Span<byte> outSpan, ref int written)
    {
        Size++;
        if (_inHeaders) HeaderBytes++;
        if (TooBig || HeaderTooLarge) return; // keep reading to the end, stop storing
        outSpan[written++] = b;
    }
}
