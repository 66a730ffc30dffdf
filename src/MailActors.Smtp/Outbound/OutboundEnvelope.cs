namespace MailActors.Smtp.Outbound;

/// <summary>The SMTP envelope of one outbound message. <see cref="Sender"/> "" is the null reverse-path (bounces, RFC 5321 §4.5.5).</summary>
public sealed record OutboundEnvelope(string Sender, IReadOnlyList<string> Recipients);

public enum RecipientOutcome { Delivered, TemporaryFailure, PermanentFailure }

/// <summary>
/// What became of one recipient. <see cref="Reply"/> is the remote server's reply with its code
/// ("550 5.1.1 &lt;x@y&gt;: user unknown", "250 2.0.0 Ok: queued as 4Xyz"); when no reply came (connection
/// refused or lost), a local description that starts with an enhanced status code ("4.4.1 connect to …").
/// </summary>
public sealed record RecipientResult(string Recipient, RecipientOutcome Outcome, string Reply);

/// <summary>One delivery attempt: a result per envelope recipient, in envelope order, and the host that answered (null when none did).</summary>
public sealed record DeliveryAttempt(IReadOnlyList<RecipientResult> Results, string? Host);
