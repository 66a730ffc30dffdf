using System.Security.Cryptography;
using System.Text;

namespace MailActors.Core;

/// <summary>What a command decided: the events to persist and the reply to send once they are durable.</summary>
public readonly record struct Decision(IReadOnlyList<IMailboxEvent> Events, IMailboxReply Reply)
{
    public static Decision Reject(MailboxErrorCode code, string message) => new([], new MailboxError(code, message));
    public static Decision Answer(IMailboxReply reply) => new([], reply);
}

/// <summary>
/// The whole state of one mailbox and its rules. <see cref="Decide"/> is pure (it reads the
/// state and returns events); <see cref="Apply"/> is the only mutation, used both live and on
/// recovery. The state is owned by exactly one actor, so it mutates in place: copying a
/// 100,000-message mailbox per event would cost more than the rest of the system together.
/// </summary>
public sealed partial class MailboxState
{
    /// <summary>
    /// How long a delivery id is remembered. Delivery ids make the retries of our own edges
    /// idempotent (an ask that timed out, a queue replayed after a crash), which happen within
    /// minutes; two days leaves a wide margin without keeping an id per message forever.
    /// </summary>
    public static readonly TimeSpan DeliveryIdRetention = TimeSpan.FromDays(2);

    private readonly Dictionary<string, Folder> _folders = new(StringComparer.Ordinal);
    private readonly MessageTable _messages = new();
    private readonly Dictionary<UInt128, (long MessageId, long AtMs)> _deliveries = [];
    private readonly Queue<UInt128> _deliveryOrder = new();
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _addressLists = new(StringComparer.Ordinal);

    public MailboxState(MailboxId mailbox) => Mailbox = mailbox;

    public MailboxId Mailbox { get; }
    public bool IsRegistered => Account is not null;
    public AccountRegistered? Account { get; private set; }
    public long UsedBytes { get; private set; }
    public int MessageCount => _messages.Count;
    public long NextMessageId { get; private set; } = 1;
    public ulong ModSeq { get; private set; }
    private uint _lastUidValidity;
    private int _nextFolderNumber = 1;


    // ---- decide -------------------------------------------------------------------------

    public Decision Decide(IMailboxCommand command, DateTimeOffset now)
    {
        if (command is RegisterMailbox register) return DecideRegister(register, now);
        if (!IsRegistered) return Decision.Reject(MailboxErrorCode.NoSuchMailbox, $"no such mailbox: {Mailbox}");
        return command switch
        {
            DeliverMessage c => DecideDeliver(c, now),
            CreateFolder c => DecideCreateFolder(c, now),
            RenameFolder c => DecideRenameFolder(c),
            DeleteFolder c => DecideDeleteFolder(c),
            SetMessageFlags c => DecideSetFlags(c),
            MoveMessages c => DecideMove(c),
            DeleteMessages c => DecideDelete(c),
            OpenSession c => DecideOpenSession(c, now),
            CloseSession c => DecideCloseSession(c),
            IMailboxQuery q => Decision.Answer(Query(q)),
            _ => Decision.Reject(MailboxErrorCode.Invalid, $"unknown command {command.GetType().Name}"),
        };
    }

    private Decision DecideRegister(RegisterMailbox c, DateTimeOffset now)
    {
        if (IsRegistered) return Decision.Reject(MailboxErrorCode.AlreadyExists, $"{Mailbox} is already registered");
        if (string.IsNullOrEmpty(c.PasswordHash)) return Decision.Reject(MailboxErrorCode.Invalid, "a password hash is required");
        if (c.QuotaBytes <= 0) return Decision.Reject(MailboxErrorCode.Invalid, "the quota must be positive");
        if ((c.DisplayName?.Length ?? 0) > 200) return Decision.Reject(MailboxErrorCode.Invalid, "a display name has at most 200 characters");
        var registered = new AccountRegistered(c.PasswordHash, c.DisplayName ?? "", c.QuotaBytes, now, NextUidValidity(now));
        return new([registered], new Done());
    }

    private Decision DecideDeliver(DeliverMessage c, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(c.DeliveryId) || c.DeliveryId.Length > DeliverMessage.MaxDeliveryIdLength)
            return Decision.Reject(MailboxErrorCode.Invalid, $"a delivery id has 1..{DeliverMessage.MaxDeliveryIdLength} characters");
        if (_deliveries.TryGetValue(HashDeliveryId(c.DeliveryId), out var earlier))
        {
            var existing = _messages.GetValueOrDefault(earlier.MessageId);
            return Decision.Answer(new MessageDeliveredReply(earlier.MessageId, existing?.Folder.Id ?? "", existing?.Uid ?? 0, Duplicate: true));
        }
        if (c.Metadata.Size < 0) return Decision.Reject(MailboxErrorCode.Invalid, "a message size can't be negative");
        var quota = Account!.QuotaBytes;
        if (UsedBytes + c.Metadata.Size > quota)
            return Decision.Reject(MailboxErrorCode.QuotaExceeded, $"mailbox {Mailbox} is full ({UsedBytes} of {quota} bytes used)");
        var folder = c.FolderId is not null && _folders.TryGetValue(c.FolderId, out var f) ? f : _folders[SystemFolders.Inbox];
        var delivered = new MessageDelivered(c.DeliveryId, NextMessageId, folder.Id, folder.UidNext, now, c.Flags & ~MessageFlags.Deleted, c.Metadata);
        return new([delivered], new MessageDeliveredReply(NextMessageId, folder.Id, folder.UidNext, Duplicate: false));
    }

    private Decision DecideCreateFolder(CreateFolder c, DateTimeOffset now)
    {
        if (SystemFolders.ValidateName(c.Name) is { } error) return Decision.Reject(MailboxErrorCode.Invalid, error);
        if (FindByName(c.Name) is not null) return Decision.Reject(MailboxErrorCode.AlreadyExists, $"a folder named '{c.Name}' exists");
        var created = new FolderCreated($"f{_nextFolderNumber}", c.Name, NextUidValidity(now));
        var info = new FolderInfo(created.FolderId, created.Name, false, 0, 0, created.UidValidity, 1, 0);
        return new([created], new FolderReply(info));
    }

    private Decision DecideRenameFolder(RenameFolder c)
    {
        if (!_folders.TryGetValue(c.FolderId, out var folder)) return Decision.Reject(MailboxErrorCode.NotFound, "no such folder");
        if (folder.IsSystem) return Decision.Reject(MailboxErrorCode.Forbidden, $"'{folder.Name}' is a system folder and can't be renamed");
        if (SystemFolders.ValidateName(c.NewName) is { } error) return Decision.Reject(MailboxErrorCode.Invalid, error);
        if (c.NewName == folder.Name) return Decision.Answer(new FolderReply(folder.ToInfo()));
        if (c.NewName.StartsWith(folder.Name + SystemFolders.Separator, StringComparison.OrdinalIgnoreCase))
            return Decision.Reject(MailboxErrorCode.Invalid, "a folder can't move into its own sub-folder");
        var clash = FindByName(c.NewName);
        if (clash is not null && clash != folder) return Decision.Reject(MailboxErrorCode.AlreadyExists, $"a folder named '{c.NewName}' exists");
        var info = folder.ToInfo() with { Name = c.NewName };
        return new([new FolderRenamed(folder.Id, c.NewName)], new FolderReply(info));
    }

    private Decision DecideDeleteFolder(DeleteFolder c)
    {
        if (!_folders.TryGetValue(c.FolderId, out var folder)) return Decision.Reject(MailboxErrorCode.NotFound, "no such folder");
        if (folder.IsSystem) return Decision.Reject(MailboxErrorCode.Forbidden, $"'{folder.Name}' is a system folder and can't be deleted");
        var doomed = _folders.Values.Where(f => f == folder || IsDescendant(f, folder)).ToList();
        var mail = doomed.SelectMany(MessageIdsIn).Order().ToList();
        var events = new List<IMailboxEvent>();
        if (mail.Count > 0) events.Add(new MessagesMoved(mail, SystemFolders.Trash, _folders[SystemFolders.Trash].UidNext));
        events.Add(new FoldersDeleted(doomed.Select(f => f.Id).ToList()));
        return new(events, Done.Instance);
    }

    private Decision DecideSetFlags(SetMessageFlags c)
    {
        if ((c.Add & c.Remove) != 0) return Decision.Reject(MailboxErrorCode.Invalid, "a flag can't be both added and removed");
        var (found, missing) = Partition(c.MessageIds);
        var changed = found.Where(m => ((m.Flags | c.Add) & ~c.Remove) != m.Flags).Select(m => m.Id).ToList();
        var reply = new MessagesUpdatedReply(found.Select(m => m.Id).ToList(), missing);
        return changed.Count == 0 ? Decision.Answer(reply) : new([new MessageFlagsChanged(changed, c.Add, c.Remove)], reply);
    }

    private Decision DecideMove(MoveMessages c)
    {
        if (!_folders.TryGetValue(c.TargetFolderId, out var target)) return Decision.Reject(MailboxErrorCode.NotFound, "no such folder");
        var (found, missing) = Partition(c.MessageIds);
        var moving = found.Where(m => m.Folder != target).Select(m => m.Id).ToList();
        var reply = new MessagesUpdatedReply(found.Select(m => m.Id).ToList(), missing);
        return moving.Count == 0 ? Decision.Answer(reply) : new([new MessagesMoved(moving, target.Id, target.UidNext)], reply);
    }

    private Decision DecideDelete(DeleteMessages c)
    {
        var (found, missing) = Partition(c.MessageIds);
        var events = new List<IMailboxEvent>();
        var expunge = found.Where(m => m.Folder.Id == SystemFolders.Trash).Select(m => m.Id).ToList();
        var toTrash = found.Where(m => m.Folder.Id != SystemFolders.Trash).Select(m => m.Id).ToList();
        if (expunge.Count > 0) events.Add(new MessagesExpunged(expunge));
        if (toTrash.Count > 0) events.Add(new MessagesMoved(toTrash, SystemFolders.Trash, _folders[SystemFolders.Trash].UidNext));
        return new(events, new MessagesUpdatedReply(found.Select(m => m.Id).ToList(), missing));
    }

    // ---- queries ------------------------------------------------------------------------

    public IMailboxReply Query(IMailboxQuery query)
    {
        if (!IsRegistered) return new MailboxError(MailboxErrorCode.NoSuchMailbox, $"no such mailbox: {Mailbox}");
        return query switch
        {
            GetAccount => new AccountInfo(Mailbox, Account!.DisplayName, Account.PasswordHash, Account.QuotaBytes, UsedBytes, _messages.Count, Account.At),
            ListFolders => new FolderListReply(_folders.Values.OrderBy(f => !f.IsSystem).ThenBy(f => f.IsSystem ? SystemOrder(f.Id) : 0)
                .ThenBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Select(f => f.ToInfo()).ToList()),
            ListMessages q => ListPage(q),
            GetMessage q => _messages.TryGetValue(q.MessageId, out var m)
                ? new MessageReply(m.ToSummary())
                : new MailboxError(MailboxErrorCode.NotFound, "no such message"),
            CheckSession q => CheckSession(q),
            _ => new MailboxError(MailboxErrorCode.Invalid, $"unknown query {query.GetType().Name}"),
        };
    }

    private IMailboxReply ListPage(ListMessages q)
    {
        if (!_folders.TryGetValue(q.FolderId, out var folder)) return new MailboxError(MailboxErrorCode.NotFound, "no such folder");
        if (q.Limit is < 1 or > ListMessages.MaxLimit) return new MailboxError(MailboxErrorCode.Invalid, $"limit must be 1..{ListMessages.MaxLimit}");
        var before = long.MaxValue;
        if (q.Cursor is not null && !MessageCursor.TryDecode(q.Cursor, out before))
            return new MailboxError(MailboxErrorCode.Invalid, "the cursor is not valid");

        var items = new List<MessageSummary>(Math.Min(q.Limit, folder.Total));
        // Walk the read and unread lists from the cursor down, merging: O(log n + page).
        var read = q.Status == MessageStatusFilter.Unread ? -1 : folder.Read.LastIndexBelow(before);
        var unread = q.Status == MessageStatusFilter.Read ? -1 : folder.Unread.LastIndexBelow(before);
        while (items.Count < q.Limit && (read >= 0 || unread >= 0))
        {
            long id;
            if (unread < 0 || (read >= 0 && folder.Read[read] > folder.Unread[unread])) id = folder.Read[read--];
            else id = folder.Unread[unread--];
            items.Add(_messages[id].ToSummary());
        }
        var more = read >= 0 || unread >= 0;
        return new MessagePageReply(items, more && items.Count > 0 ? MessageCursor.Encode(items[^1].Id) : null);
    }

    // ---- apply --------------------------------------------------------------------------

    public void Apply(IMailboxEvent @event)
    {
        switch (@event)
        {
            case AccountRegistered e:
                Account = e;
                _lastUidValidity = e.UidValidity;
                foreach (var (id, name) in SystemFolders.All) _folders[id] = new Folder(id, name, isSystem: true, e.UidValidity);
                break;
            case MessageDelivered e:
                ApplyDelivered(e);
                break;
            case MessageFlagsChanged e:
                ModSeq++;
                foreach (var id in e.MessageIds)
                {
                    if (!_messages.TryGetValue(id, out var m)) continue;
                    m.Folder.Remove(m);
                    m.Flags = (m.Flags | e.Add) & ~e.Remove;
                    m.ModSeq = ModSeq;
                    m.Folder.Add(m);
                    m.Folder.HighestModSeq = ModSeq;
                }
                break;
            case MessagesMoved e:
                ModSeq++;
                var target = _folders[e.TargetFolderId];
                var uid = e.FirstUid;
                foreach (var id in e.MessageIds)
                {
                    if (!_messages.TryGetValue(id, out var m)) continue;
                    m.Folder.Remove(m);
                    m.Folder.HighestModSeq = ModSeq;
                    m.Folder = target;
                    m.Uid = uid++;
                    m.ModSeq = ModSeq;
                    target.Add(m);
                }
                target.UidNext = Math.Max(target.UidNext, uid);
                target.HighestModSeq = ModSeq;
                break;
            case MessagesExpunged e:
                ModSeq++;
                foreach (var id in e.MessageIds)
                {
                    if (!_messages.Remove(id, out var m)) continue;
                    m.Folder.Remove(m);
                    m.Folder.HighestModSeq = ModSeq;
                    UsedBytes -= m.Size;
                }
                break;
            case FolderCreated e:
                _folders[e.FolderId] = new Folder(e.FolderId, e.Name, isSystem: false, e.UidValidity);
                _lastUidValidity = Math.Max(_lastUidValidity, e.UidValidity);
                if (int.TryParse(e.FolderId.AsSpan(1), out var n)) _nextFolderNumber = Math.Max(_nextFolderNumber, n + 1);
                break;
            case FolderRenamed e:
                var renamed = _folders[e.FolderId];
                var oldPrefix = renamed.Name + SystemFolders.Separator;
                foreach (var child in _folders.Values.Where(f => !f.IsSystem && f.Name.StartsWith(oldPrefix, StringComparison.OrdinalIgnoreCase)))
                    child.Name = e.NewName + SystemFolders.Separator + child.Name[oldPrefix.Length..];
                renamed.Name = e.NewName;
                break;
            case FoldersDeleted e:
                foreach (var id in e.FolderIds) _folders.Remove(id);
                break;
            case SessionOpened e:
                ApplySessionOpened(e);
                break;
            case SessionClosed e:
                ApplySessionClosed(e);
                break;
            case SearchSegmentsChanged e:
                ApplySearchSegments(e);
                break;
            default:
                throw new InvalidOperationException($"unknown event {@event.GetType().Name}");
        }
    }

    private void ApplyDelivered(MessageDelivered e)
    {
        ModSeq++;
        var folder = _folders[e.FolderId];
        var meta = e.Metadata;
        var message = new StoredMessage
        {
            Id = e.MessageId,
            Folder = folder,
            Uid = e.Uid,
            Flags = e.Flags,
            ReceivedAtMs = e.ReceivedAt.ToUnixTimeMilliseconds(),
            ModSeq = ModSeq,
            Blob = meta.Blob,
            Size = meta.Size,
            DateMs = meta.Date?.ToUnixTimeMilliseconds() ?? long.MinValue,
            From = Intern(meta.From),
            To = InternList(meta.To),
            Cc = InternList(meta.Cc),
            Text = PackedText.Pack(meta.Subject, meta.MessageIdHeader, Truncate(meta.Snippet, MessageMetadata.MaxSnippetLength)),
            Attachments = meta.Attachments.Count == 0 ? [] : meta.Attachments.ToArray(),
        };
        _messages[e.MessageId] = message;
        folder.Add(message);
        folder.UidNext = Math.Max(folder.UidNext, e.Uid + 1);
        folder.HighestModSeq = ModSeq;
        UsedBytes += meta.Size;
        NextMessageId = Math.Max(NextMessageId, e.MessageId + 1);
        RememberDelivery(HashDeliveryId(e.DeliveryId), e.MessageId, message.ReceivedAtMs);
    }

    private void RememberDelivery(UInt128 hash, long messageId, long atMs)
    {
        if (!_deliveries.TryAdd(hash, (messageId, atMs))) return;
        _deliveryOrder.Enqueue(hash);
        // Forget ids older than the retention window; clock = the newest delivery, so replay is deterministic.
        var horizon = atMs - (long)DeliveryIdRetention.TotalMilliseconds;
        while (_deliveryOrder.TryPeek(out var oldest) && _deliveries[oldest].AtMs < horizon)
            _deliveries.Remove(_deliveryOrder.Dequeue());
    }

    // ---- change notifications -----------------------------------------------------------

    /// <summary>
    /// Adds the ids of the folders whose Total or Unread <paramref name="event"/> can change.
    /// Call it before <see cref="Apply"/>: afterwards moved and expunged messages no longer say
    /// where they were.
    /// </summary>
    public void CollectTouchedFolders(IMailboxEvent @event, ISet<string> into)
    {
        switch (@event)
        {
            case MessageDelivered e:
                into.Add(e.FolderId);
                break;
            case MessageFlagsChanged e when ((e.Add | e.Remove) & MessageFlags.Seen) != 0: // other flags don't count
                AddFoldersOf(e.MessageIds, into);
                break;
            case MessagesMoved e:
                AddFoldersOf(e.MessageIds, into);
                into.Add(e.TargetFolderId);
                break;
            case MessagesExpunged e:
                AddFoldersOf(e.MessageIds, into);
                break;
            case FolderCreated e:
                into.Add(e.FolderId);
                break;
            // FoldersDeleted (gone, nothing to count), FolderRenamed, account and session events: no counts change.
        }
    }

    /// <summary>A folder's current counts, or null if it doesn't exist (any more).</summary>
    public FolderCount? CountOf(string folderId) =>
        _folders.TryGetValue(folderId, out var f) ? new FolderCount(f.Id, f.Total, f.Unread.Count) : null;

    private void AddFoldersOf(IReadOnlyList<long> messageIds, ISet<string> into)
    {
        foreach (var id in messageIds)
            if (_messages.TryGetValue(id, out var m)) into.Add(m.Folder.Id);
    }

    // ---- helpers ------------------------------------------------------------------------

    private uint NextUidValidity(DateTimeOffset now) =>
        Math.Max((uint)Math.Clamp(now.ToUnixTimeSeconds(), 1, uint.MaxValue - 1), _lastUidValidity + 1);

    private Folder? FindByName(string name) =>
        _folders.Values.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    private static bool IsDescendant(Folder f, Folder ancestor) =>
        !f.IsSystem && f.Name.StartsWith(ancestor.Name + SystemFolders.Separator, StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<long> MessageIdsIn(Folder f) => f.Read.AsSpan().ToArray().Concat(f.Unread.AsSpan().ToArray());

    private (List<StoredMessage> Found, List<long> Missing) Partition(IReadOnlyList<long> ids)
    {
        var found = new List<StoredMessage>(ids.Count);
        var missing = new List<long>();
        foreach (var id in ids.Distinct())
        {
            if (_messages.TryGetValue(id, out var m)) found.Add(m);
            else missing.Add(id);
        }
        return (found, missing);
    }

    private static int SystemOrder(string id) => SystemFolders.All.ToList().FindIndex(f => f.Id == id);

    private string Intern(string s)
    {
        if (_addresses.TryGetValue(s, out var existing)) return existing;
        _addresses[s] = s;
        return s;
    }

    private string[] InternList(IReadOnlyList<string> list)
    {
        if (list.Count == 0) return [];
        var key = string.Join('\n', list);
        if (_addressLists.TryGetValue(key, out var existing)) return existing;
        var interned = list.Select(Intern).ToArray();
        _addressLists[key] = interned;
        return interned;
    }

    private static string Truncate(string s, int max) =>
        s.Length <= max ? s : char.IsHighSurrogate(s[max - 1]) ? s[..(max - 1)] : s[..max];

    internal static UInt128 HashDeliveryId(string deliveryId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(deliveryId), hash);
        return new UInt128(BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]));
    }
}
