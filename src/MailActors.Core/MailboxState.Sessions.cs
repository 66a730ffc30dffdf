using System.Text;

namespace MailActors.Core;

/// <summary>
/// Sign-in sessions (HTTP login). The gateway keeps the secret; the mailbox keeps only its
/// SHA-256 (base64url), so a leaked snapshot or journal can't be replayed as a login.
/// </summary>
public sealed partial class MailboxState
{
    public const int MaxSessionHashLength = 100;

    // At most MaxSessions + 1 entries, in the order they were opened: a list beats a dictionary here.
    private readonly List<SessionInfo> _sessions = [];

    /// <summary>Open sessions in the order they were opened (expired ones linger until the next open).</summary>
    public IReadOnlyCollection<SessionInfo> Sessions => _sessions.AsReadOnly();

    private Decision DecideOpenSession(OpenSession c, DateTimeOffset now)
    {
        if (!IsValidSessionHash(c.SessionHash))
            return Decision.Reject(MailboxErrorCode.Invalid, $"a session hash has 1..{MaxSessionHashLength} characters of [A-Za-z0-9_-]");
        // UTC, so the snapshot (which keeps ticks, not offsets) restores the same values.
        var at = now.ToUniversalTime();
        var expiresAt = c.ExpiresAt.ToUniversalTime();
        if (expiresAt <= at) return Decision.Reject(MailboxErrorCode.Invalid, "a session must expire in the future");
        // Session hashes come from 256-bit random secrets: a clash is a replayed command, not a new login.
        if (FindSession(c.SessionHash) is not null) return Decision.Reject(MailboxErrorCode.AlreadyExists, "the session is already open");
        var opened = new SessionOpened(c.SessionHash, at, expiresAt, CleanClient(c.Client));
        return new([opened], new SessionInfo(opened.SessionHash, opened.At, opened.ExpiresAt, opened.Client));
    }

    private Decision DecideCloseSession(CloseSession c) =>
        FindSession(c.SessionHash) is null
            ? Decision.Answer(Done.Instance) // logging out twice (or after eviction) is not an error
            : new([new SessionClosed(c.SessionHash)], Done.Instance);

    private IMailboxReply CheckSession(CheckSession q) =>
        (IMailboxReply?)FindSession(q.SessionHash) ?? new MailboxError(MailboxErrorCode.NotFound, "no such session");

    private void ApplySessionOpened(SessionOpened e)
    {
        // Expiry is judged by the event's time, never the wall clock, so replay ends in the same state.
        _sessions.RemoveAll(s => s.ExpiresAt < e.At || s.SessionHash == e.SessionHash);
        _sessions.Add(new SessionInfo(e.SessionHash, e.At, e.ExpiresAt, e.Client));
        while (_sessions.Count > OpenSession.MaxSessions)
        {
            // Oldest by opening time, then by order; never the session just opened (another node's
            // clock may lag, and its reply has already promised that session).
            var oldest = 0;
            for (var i = 1; i < _sessions.Count - 1; i++)
                if (_sessions[i].CreatedAt < _sessions[oldest].CreatedAt) oldest = i;
            _sessions.RemoveAt(oldest);
        }
    }

    private void ApplySessionClosed(SessionClosed e) => _sessions.RemoveAll(s => s.SessionHash == e.SessionHash);

    private SessionInfo? FindSession(string? hash) => _sessions.Find(s => s.SessionHash == hash);

    private static bool IsValidSessionHash(string? hash) =>
        hash is { Length: > 0 and <= MaxSessionHashLength } && hash.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// The client label (a User-Agent, say) as shown in a session list: no control characters,
    /// lone surrogates replaced (so the journal's JSON gives back the same string), trimmed, cut.
    /// </summary>
    internal static string CleanClient(string? client)
    {
        if (string.IsNullOrEmpty(client)) return "";
        var sb = new StringBuilder(Math.Min(client.Length, OpenSession.MaxClientLength));
        for (var i = 0; i < client.Length; i++)
        {
            var c = client[i];
            if (char.IsHighSurrogate(c) && i + 1 < client.Length && char.IsLowSurrogate(client[i + 1]))
            {
                sb.Append(c).Append(client[++i]);
                continue;
            }
            if (char.IsSurrogate(c)) sb.Append('\uFFFD');
            else if (!char.IsControl(c)) sb.Append(c);
        }
        return Truncate(sb.ToString().Trim(), OpenSession.MaxClientLength).TrimEnd();
    }

    private void WriteSessions(BinaryWriter w)
    {
        w.Write7BitEncodedInt(_sessions.Count);
        foreach (var s in _sessions)
        {
            w.Write(s.SessionHash);
            w.Write(s.CreatedAt.UtcTicks);
            w.Write(s.ExpiresAt.UtcTicks);
            w.Write(s.Client);
        }
    }

    private void ReadSessions(BinaryReader r)
    {
        var count = r.Read7BitEncodedInt();
        for (var i = 0; i < count; i++)
        {
            var hash = r.ReadString();
            var createdAt = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            var expiresAt = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            _sessions.Add(new SessionInfo(hash, createdAt, expiresAt, r.ReadString()));
        }
    }
}
