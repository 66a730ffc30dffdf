using System.Diagnostics;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Hosting;
using MailActors.Core;

namespace MailActors.Cluster;

/// <summary>A mailbox refused a request (no such mailbox, not found, quota, …) or did not answer in time.</summary>
public sealed class MailboxException(MailboxErrorCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public MailboxErrorCode Code { get; } = code;
}

/// <summary>
/// Typed access to mailboxes for code that embeds MailActors: every call is routed through the
/// shard region to the mailbox's node. Errors come back as <see cref="MailboxException"/>;
/// a mailbox that doesn't answer within the ask timeout is <see cref="MailboxErrorCode.Unavailable"/>.
/// </summary>
public sealed class MailboxClient
{
    public const string MeterName = "MailActors.Mailboxes";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<double> AskDuration = Meter.CreateHistogram<double>(
        "mailactors.mailbox.request.duration", unit: "s", description: "Round trip to a mailbox actor, by request kind");

    private readonly Func<CancellationToken, Task<IActorRef>> _region;
    private string? _decoyHash;
    private readonly MailActorsOptions _options;

    public MailboxClient(IRequiredActor<MailboxRegion> region, MailActorsOptions options)
    {
        _region = ct => region.GetAsync(ct);
        _options = options;
    }

    public MailboxClient(IActorRef region, MailActorsOptions options)
    {
        _region = _ => Task.FromResult(region);
        _options = options;
    }

    public async Task<AccountInfo> RegisterAsync(string address, string password, string? displayName = null, long? quotaBytes = null, CancellationToken ct = default)
    {
        if (PasswordHasher.CheckPolicy(password) is { } policy) throw new MailboxException(MailboxErrorCode.Invalid, policy);
        var mailbox = ParseAddress(address);
        var hash = await Task.Run(() => PasswordHasher.Hash(password, _options.PasswordIterations), ct);
        await Expect<Done>(new RegisterMailbox(mailbox, hash, displayName ?? "", quotaBytes ?? _options.DefaultQuotaBytes), ct);
        return await GetAccountAsync(mailbox.Value, ct);
    }

    /// <summary>The account when the password is right; null for a wrong password or unknown address.</summary>
    public async Task<AccountInfo?> AuthenticateAsync(string address, string password, CancellationToken ct = default)
    {
        if (!MailboxId.TryParse(address, out var mailbox, out _)) return null;
        var reply = await SendAsync(new GetAccount(mailbox), ct);
        // Unknown accounts cost the same hash as known ones, so timing doesn't tell which exist.
        var hash = reply is AccountInfo known ? known.PasswordHash : _decoyHash ??= PasswordHasher.Hash(Guid.NewGuid().ToString(), _options.PasswordIterations);
        var ok = await Task.Run(() => PasswordHasher.Verify(password, hash), ct);
        return ok && reply is AccountInfo account ? account : null;
    }

    public Task<AccountInfo> GetAccountAsync(string address, CancellationToken ct = default) =>
        Expect<AccountInfo>(new GetAccount(ParseAddress(address)), ct);

    /// <summary>Whether a registered mailbox exists (creates no state for unknown addresses).</summary>
    public async Task<bool> ExistsAsync(string address, CancellationToken ct = default) =>
        MailboxId.TryParse(address, out var mailbox, out _) && await SendAsync(new GetAccount(mailbox), ct) is AccountInfo;

    /// <summary>Delivers one message; <paramref name="bodyText"/> (see <see cref="DeliverMessage"/>) makes it searchable at once.</summary>
    public Task<MessageDeliveredReply> DeliverAsync(string address, string deliveryId, MessageMetadata metadata,
        string? folderId = null, MessageFlags flags = MessageFlags.None, string? bodyText = null, CancellationToken ct = default) =>
        Expect<MessageDeliveredReply>(new DeliverMessage(ParseAddress(address), deliveryId, metadata, folderId, flags, bodyText), ct);

    public async Task<IReadOnlyList<FolderInfo>> ListFoldersAsync(string address, CancellationToken ct = default) =>
        (await Expect<FolderListReply>(new ListFolders(ParseAddress(address)), ct)).Folders;

    public async Task<FolderInfo> CreateFolderAsync(string address, string name, CancellationToken ct = default) =>
        (await Expect<FolderReply>(new CreateFolder(ParseAddress(address), name), ct)).Folder;

    public async Task<FolderInfo> RenameFolderAsync(string address, string folderId, string newName, CancellationToken ct = default) =>
        (await Expect<FolderReply>(new RenameFolder(ParseAddress(address), folderId, newName), ct)).Folder;

    public Task DeleteFolderAsync(string address, string folderId, CancellationToken ct = default) =>
        Expect<Done>(new DeleteFolder(ParseAddress(address), folderId), ct);

    public Task<MessagePageReply> ListMessagesAsync(string address, string folderId, MessageStatusFilter status = MessageStatusFilter.All,
        int limit = 50, string? cursor = null, CancellationToken ct = default) =>
        Expect<MessagePageReply>(new ListMessages(ParseAddress(address), folderId, status, limit, cursor), ct);

    /// <summary>Full-text search, newest first; throws <see cref="MailboxException"/> (Invalid) for a query that doesn't parse.</summary>
    public Task<MessagePageReply> SearchAsync(string address, string query, int limit = 50, string? cursor = null,
        string? folderId = null, CancellationToken ct = default) =>
        Expect<MessagePageReply>(new SearchMessages(ParseAddress(address), query, limit, cursor, folderId), ct);

    public Task<SearchStatsReply> GetSearchStatsAsync(string address, CancellationToken ct = default) =>
        Expect<SearchStatsReply>(new GetSearchStats(ParseAddress(address)), ct);

    public async Task<MessageSummary> GetMessageAsync(string address, long messageId, CancellationToken ct = default) =>
        (await Expect<MessageReply>(new GetMessage(ParseAddress(address), messageId), ct)).Message;

    public Task<MessagesUpdatedReply> MarkReadAsync(string address, IReadOnlyList<long> messageIds, bool read = true, CancellationToken ct = default) =>
        SetFlagsAsync(address, messageIds, read ? MessageFlags.Seen : MessageFlags.None, read ? MessageFlags.None : MessageFlags.Seen, ct);

    public Task<MessagesUpdatedReply> FlagAsync(string address, IReadOnlyList<long> messageIds, bool flagged = true, CancellationToken ct = default) =>
        SetFlagsAsync(address, messageIds, flagged ? MessageFlags.Flagged : MessageFlags.None, flagged ? MessageFlags.None : MessageFlags.Flagged, ct);

    public Task<MessagesUpdatedReply> SetFlagsAsync(string address, IReadOnlyList<long> messageIds, MessageFlags add, MessageFlags remove, CancellationToken ct = default) =>
        Expect<MessagesUpdatedReply>(new SetMessageFlags(ParseAddress(address), messageIds, add, remove), ct);

    public Task<MessagesUpdatedReply> MoveAsync(string address, IReadOnlyList<long> messageIds, string targetFolderId, CancellationToken ct = default) =>
        Expect<MessagesUpdatedReply>(new MoveMessages(ParseAddress(address), messageIds, targetFolderId), ct);

    /// <summary>Moves to Trash; messages already in Trash are deleted for good.</summary>
    public Task<MessagesUpdatedReply> DeleteAsync(string address, IReadOnlyList<long> messageIds, CancellationToken ct = default) =>
        Expect<MessagesUpdatedReply>(new DeleteMessages(ParseAddress(address), messageIds), ct);

    /// <summary>Sends any mailbox command and returns the raw reply (errors included).</summary>
    public async Task<IMailboxReply> SendAsync(IMailboxCommand command, CancellationToken ct = default)
    {
        var region = await _region(ct);
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await region.Ask<IMailboxReply>(command, _options.AskTimeout, ct);
        }
        catch (AskTimeoutException e)
        {
            throw new MailboxException(MailboxErrorCode.Unavailable, $"mailbox {command.Mailbox} did not answer within {_options.AskTimeout.TotalSeconds:0.#} s", e);
        }
        finally
        {
            AskDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("request", command.GetType().Name));
        }
    }

    /// <summary>Sends any mailbox command and expects reply type <typeparamref name="T"/>; a <see cref="MailboxError"/> throws.</summary>
    public Task<T> SendExpectingAsync<T>(IMailboxCommand command, CancellationToken ct = default) where T : IMailboxReply =>
        Expect<T>(command, ct);

    private async Task<T> Expect<T>(IMailboxCommand command, CancellationToken ct) where T : IMailboxReply =>
        await SendAsync(command, ct) switch
        {
            T ok => ok,
            MailboxError error => throw new MailboxException(error.Code, error.Message),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name} to {command.GetType().Name}"),
        };

    private static MailboxId ParseAddress(string address) =>
        MailboxId.TryParse(address, out var id, out var error) ? id : throw new MailboxException(MailboxErrorCode.Invalid, error);
}
