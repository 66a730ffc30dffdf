namespace MailActors.Core;

public sealed record FolderInfo(
    string Id,
    string Name,
    bool IsSystem,
    int Total,
    int Unread,
    uint UidValidity,
    uint UidNext,
    ulong HighestModSeq);

/// <summary>The folders every mailbox has from registration on; they can't be renamed or deleted.</summary>
public static class SystemFolders
{
    public const string Inbox = "inbox";
    public const string Sent = "sent";
    public const string Drafts = "drafts";
    public const string Trash = "trash";
    public const string Spam = "spam";
    public const string Archive = "archive";

    public static readonly IReadOnlyList<(string Id, string Name)> All =
    [
        (Inbox, "Inbox"), (Sent, "Sent"), (Drafts, "Drafts"), (Trash, "Trash"), (Spam, "Spam"), (Archive, "Archive"),
    ];

    public static bool IsSystemName(string name) =>
        All.Any(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    public const char Separator = '/';
    public const int MaxNameLength = 200;
    public const int MaxSegmentLength = 100;

    /// <summary>Checks a user folder name ("Work/Projects"): the reason it is invalid, or null.</summary>
    public static string? ValidateName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return "a folder name can't be empty";
        if (name.Length > MaxNameLength) return $"a folder name has at most {MaxNameLength} characters";
        if (name.Any(char.IsControl)) return "a folder name can't contain control characters";
        if (name.IndexOfAny(['*', '%']) >= 0) return "a folder name can't contain '*' or '%'";
        foreach (var segment in name.Split(Separator))
        {
            if (segment.Length == 0) return "a folder name can't have an empty level ('//', or '/' at either end)";
            if (segment.Trim().Length != segment.Length) return "a folder level can't start or end with a space";
            if (segment.Length > MaxSegmentLength) return $"a folder level has at most {MaxSegmentLength} characters";
        }
        if (IsSystemName(name.Split(Separator)[0]) && !name.Contains(Separator))
            return $"'{name}' is a system folder";
        return null;
    }
}
