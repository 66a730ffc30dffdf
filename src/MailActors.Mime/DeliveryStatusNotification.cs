using MailActors.Core.Outbound;
using MimeKit;

namespace MailActors.Mime;

/// <summary>
/// Builds the bounce a sender gets when recipients failed for good: an RFC 3464 DSN
/// (multipart/report; report-type=delivery-status) with a human-readable part, one
/// per-recipient block with the remote's reply, and the original message's headers.
/// </summary>
public static class DeliveryStatusNotification
{
    public static MimeMessage Build(OutboundMessage original, IReadOnlyList<RecipientAttempt> failed, HeaderList? originalHeaders,
        string reportingMta, DateTimeOffset now)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", $"mailer-daemon@{reportingMta}"));
        message.To.Add(MailboxAddress.Parse(original.Sender));
        message.Subject = "Undelivered Mail Returned to Sender";
        message.Date = now;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(reportingMta);
        message.Headers.Add("Auto-Submitted", "auto-replied");

        var human = new TextPart("plain")
        {
            Text = $"""
                This is the mail system at {reportingMta}.

                Your message could not be delivered to the following recipient(s):

                {string.Join("\n", failed.Select(f => $"  <{f.Recipient}>: {f.Reply}"))}

                The message's headers are attached.
                """,
        };

        var status = new MessageDeliveryStatus();
        var perMessage = new HeaderList
        {
            { "Reporting-MTA", "dns; " + reportingMta },
            { "Arrival-Date", MimeKit.Utils.DateUtils.FormatDate(original.QueuedAt) },
        };
        status.StatusGroups.Add(perMessage);
        foreach (var f in failed)
        {
            var group = new HeaderList
            {
                { "Final-Recipient", "rfc822; " + f.Recipient },
                { "Action", "failed" },
                { "Status", StatusCode(f.Reply) },
                { "Diagnostic-Code", "smtp; " + OneLine(f.Reply) },
                { "Last-Attempt-Date", MimeKit.Utils.DateUtils.FormatDate(now) },
            };
            status.StatusGroups.Add(group);
        }

        var report = new MultipartReport("delivery-status") { human, status };
        if (originalHeaders is not null)
        {
            var headers = new MimePart("text", "rfc822-headers")
            {
                Content = new MimeContent(HeadersStream(originalHeaders)),
            };
            report.Add(headers);
        }
        message.Body = report;
        return message;
    }

    /// <summary>The enhanced status code in the reply (e.g. "5.1.1"), 4.4.7 for expiry, or a generic permanent failure.</summary>
    private static string StatusCode(string reply)
    {
        if (reply.StartsWith("gave up after", StringComparison.Ordinal)) return "4.4.7"; // RFC 3463: delivery time expired
        var match = System.Text.RegularExpressions.Regex.Match(reply, @"\b([245])\.(\d{1,3})\.(\d{1,3})\b");
        return match.Success && match.Groups[1].Value == "5" ? match.Value : "5.0.0";
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));

    private static MemoryStream HeadersStream(HeaderList headers)
    {
        var stream = new MemoryStream();
        headers.WriteTo(FormatOptions.Default, stream);
        stream.Position = 0;
        return stream;
    }
}
