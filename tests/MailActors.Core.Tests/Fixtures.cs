using MailActors.Core;

namespace MailActors.Core.Tests;

internal static class Fixtures
{
    public static readonly MailboxId Alice = MailboxId.Parse("alice@example.com");
    public static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    public static MessageMetadata Meta(string subject = "hello", long size = 1000, string from = "bob@example.org", string? attachment = null) => new(
        BlobId.Of(System.Text.Encoding.UTF8.GetBytes(subject + size)),
        size,
        from,
        ["alice@example.com"],
        [],
        subject,
        T0,
        $"<{Guid.NewGuid():N}@example.org>",
        "first words of " + subject,
        attachment is null ? [] : [new AttachmentInfo(attachment, "application/pdf", 1234)]);

    /// <summary>Decides and applies, as the actor does; returns the reply.</summary>
    public static IMailboxReply Run(this MailboxState state, IMailboxCommand command, DateTimeOffset? now = null)
    {
        var decision = state.Decide(command, now ?? T0);
        foreach (var e in decision.Events) state.Apply(e);
        return decision.Reply;
    }

    public static T Run<T>(this MailboxState state, IMailboxCommand command, DateTimeOffset? now = null) where T : IMailboxReply
    {
        var reply = state.Run(command, now);
        return reply is T t ? t : throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {reply}");
    }

    public static MailboxState Registered(long quota = 1_000_000)
    {
        var state = new MailboxState(Alice);
        state.Run<Done>(new RegisterMailbox(Alice, "hash", "Alice", quota));
        return state;
    }

    public static long Deliver(this MailboxState state, string subject = "hello", long size = 1000, string? folder = null, string? deliveryId = null, DateTimeOffset? at = null) =>
        state.Run<MessageDeliveredReply>(new DeliverMessage(Alice, deliveryId ?? Guid.NewGuid().ToString(), Meta(subject, size), folder), at).MessageId;

    public static FolderInfo Folder(this MailboxState state, string id) =>
        state.Run<FolderListReply>(new ListFolders(Alice)).Folders.Single(f => f.Id == id);

    public static List<long> Page(this MailboxState state, string folder, MessageStatusFilter status, int limit, ref string? cursor)
    {
        var page = state.Run<MessagePageReply>(new ListMessages(Alice, folder, status, limit, cursor));
        cursor = page.NextCursor;
        return page.Items.Select(m => m.Id).ToList();
    }

    public static List<long> All(this MailboxState state, string folder, MessageStatusFilter status = MessageStatusFilter.All, int limit = 7)
    {
        var result = new List<long>();
        string? cursor = null;
        do result.AddRange(state.Page(folder, status, limit, ref cursor));
        while (cursor is not null);
        return result;
    }
}
