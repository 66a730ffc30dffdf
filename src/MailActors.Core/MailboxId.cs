namespace MailActors.Core;

/// <summary>
/// A mailbox's identity: its normalized address. Domain and local part are lower-cased
/// (local parts are treated case-insensitively, as every large provider does), so one
/// user is always one entity in the cluster.
/// </summary>
public readonly record struct MailboxId
{
    public const int MaxLength = 254;

    public string Value { get; }

    private MailboxId(string value) => Value = value;

    public string LocalPart => Value[..Value.LastIndexOf('@')];
    public string Domain => Value[(Value.LastIndexOf('@') + 1)..];

    public static MailboxId Parse(string address) =>
        TryParse(address, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? address, out MailboxId id, out string error)
    {
        id = default;
        var trimmed = address?.Trim() ?? "";
        if (trimmed.Length is 0 or > MaxLength)
        {
            error = $"an address must have 1..{MaxLength} characters";
            return false;
        }
        var at = trimmed.LastIndexOf('@');
        if (at <= 0 || at == trimmed.Length - 1 || trimmed.IndexOf('@') != at)
        {
            error = "an address must have the form local@domain";
            return false;
        }
        foreach (var c in trimmed)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or '"' or '\\' or ',' or ';' or ':' or '(' or ')' or '[' or ']')
            {
                error = $"an address may not contain '{(char.IsControl(c) ? "control character" : c.ToString())}'";
                return false;
            }
        }
        var domain = trimmed[(at + 1)..];
        if (domain.StartsWith('.') || domain.EndsWith('.') || domain.Contains(".."))
        {
            error = "the domain of an address is malformed";
            return false;
        }
        id = new MailboxId(trimmed.ToLowerInvariant());
        error = "";
        return true;
    }

    /// <summary>Rebuilds an id that was normalized before (serialization, persistence ids).</summary>
    public static MailboxId FromNormalized(string value) => new(value);

    public override string ToString() => Value;
}
