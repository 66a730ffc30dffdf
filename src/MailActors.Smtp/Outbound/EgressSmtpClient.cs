using MailKit.Net.Smtp;
using MimeKit;

namespace MailActors.Smtp.Outbound;

/// <summary>
/// MailKit's client with per-recipient bookkeeping: by default <see cref="SmtpClient"/> throws on the first
/// refused RCPT and sends nothing; an MTA must record every refusal and still send to the accepted ones.
/// </summary>
internal sealed class EgressSmtpClient : SmtpClient
{
    private readonly Dictionary<MailboxAddress, SmtpResponse> _refused = new(ReferenceEqualityComparer.Instance);

    /// <summary>The reply to MAIL FROM when it was refused; nothing else in the transaction counts then.</summary>
    public SmtpResponse? SenderRefusal { get; private set; }

    /// <summary>When the last transaction ended, for expiring idle connections.</summary>
    public long IdleSince { get; set; }

    public void BeginTransaction()
    {
        _refused.Clear();
        SenderRefusal = null;
    }

    /// <summary>The reply to RCPT for <paramref name="mailbox"/> (matched by reference) if it was refused.</summary>
    public SmtpResponse? RefusalOf(MailboxAddress mailbox) => _refused.GetValueOrDefault(mailbox);

    /// <summary>RSET: starts clean and proves the connection is still alive before it is reused.</summary>
    public async Task<bool> ResetAsync(CancellationToken ct) => (await SendCommandAsync("RSET", ct)).StatusCode == SmtpStatusCode.Ok;

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        _refused[mailbox] = response;

    // Nothing left to send to: MailKit then throws "No recipients were accepted" and resets; the replies are recorded.
    protected override void OnNoRecipientsAccepted(MimeMessage message)
    {
    }

    protected override void OnSenderNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        SenderRefusal = response;
        base.OnSenderNotAccepted(message, mailbox, response); // throws: the transaction is over
    }
}
