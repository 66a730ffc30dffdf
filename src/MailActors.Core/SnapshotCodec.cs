namespace MailActors.Core;

/// <summary>
/// Binary format of <see cref="MailboxSnapshot"/>. A mailbox of 100,000 messages must load in
/// well under 300 ms, which rules out JSON; this is a flat, versioned record layout.
/// </summary>
public static class SnapshotCodec
{
    private const byte FormatVersion = 1;

    public static byte[] Encode(MailboxSnapshot s)
    {
        using var buffer = new MemoryStream(64 + s.Messages.Count * 256);
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(FormatVersion);
            w.Write(s.Mailbox.Value);
            w.Write(s.Account is not null);
            if (s.Account is { } a)
            {
                w.Write(a.PasswordHash);
                w.Write(a.DisplayName);
                w.Write(a.QuotaBytes);
                WriteTime(w, a.At);
                w.Write(a.UidValidity);
            }
            w.Write(s.NextMessageId);
            w.Write(s.ModSeq);
            w.Write(s.LastUidValidity);
            w.Write(s.NextFolderNumber);
            w.Write7BitEncodedInt(s.Folders.Count);
            foreach (var f in s.Folders)
            {
                w.Write(f.Id);
                w.Write(f.Name);
                w.Write(f.IsSystem);
                w.Write(f.UidValidity);
                w.Write(f.UidNext);
                w.Write(f.HighestModSeq);
            }
            w.Write7BitEncodedInt(s.Messages.Count);
            foreach (var m in s.Messages) WriteMessage(w, m);
            w.Write7BitEncodedInt(s.Deliveries.Count);
            foreach (var d in s.Deliveries)
            {
                w.Write((ulong)(d.Hash >> 64));
                w.Write((ulong)d.Hash);
                w.Write(d.MessageId);
                w.Write(d.AtMs);
            }
        }
        return buffer.ToArray();
    }

    public static MailboxSnapshot Decode(byte[] bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false), System.Text.Encoding.UTF8);
        var version = r.ReadByte();
        if (version != FormatVersion) throw new InvalidDataException($"unknown mailbox snapshot format {version}");
        var mailbox = MailboxId.FromNormalized(r.ReadString());
        AccountRegistered? account = null;
        if (r.ReadBoolean())
            account = new AccountRegistered(r.ReadString(), r.ReadString(), r.ReadInt64(), ReadTime(r), r.ReadUInt32());
        var nextMessageId = r.ReadInt64();
        var modSeq = r.ReadUInt64();
        var lastUidValidity = r.ReadUInt32();
        var nextFolderNumber = r.ReadInt32();
        var folders = new FolderSnapshot[r.Read7BitEncodedInt()];
        for (var i = 0; i < folders.Length; i++)
            folders[i] = new FolderSnapshot(r.ReadString(), r.ReadString(), r.ReadBoolean(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt64());
        var messages = new MessageSummary[r.Read7BitEncodedInt()];
        for (var i = 0; i < messages.Length; i++) messages[i] = ReadMessage(r);
        var deliveries = new DeliveryRecord[r.Read7BitEncodedInt()];
        for (var i = 0; i < deliveries.Length; i++)
            deliveries[i] = new DeliveryRecord(new UInt128(r.ReadUInt64(), r.ReadUInt64()), r.ReadInt64(), r.ReadInt64());
        return new MailboxSnapshot(mailbox, account, nextMessageId, modSeq, lastUidValidity, nextFolderNumber, folders, messages, deliveries);
    }

    private static void WriteMessage(BinaryWriter w, MessageSummary m)
    {
        var meta = m.Metadata;
        w.Write(m.Id);
        w.Write(m.FolderId);
        w.Write(m.Uid);
        WriteTime(w, m.ReceivedAt);
        w.Write((byte)m.Flags);
        w.Write(m.ModSeq);
        w.Write(meta.Blob.A); w.Write(meta.Blob.B); w.Write(meta.Blob.C); w.Write(meta.Blob.D);
        w.Write(meta.Size);
        w.Write(meta.From);
        WriteList(w, meta.To);
        WriteList(w, meta.Cc);
        w.Write(meta.Subject);
        w.Write(meta.Date.HasValue);
        if (meta.Date is { } date) WriteTime(w, date);
        w.Write(meta.MessageIdHeader is not null);
        if (meta.MessageIdHeader is { } mid) w.Write(mid);
        w.Write(meta.Snippet);
        w.Write7BitEncodedInt(meta.Attachments.Count);
        foreach (var a in meta.Attachments)
        {
            w.Write(a.FileName);
            w.Write(a.ContentType);
            w.Write(a.Size);
        }
    }

    private static MessageSummary ReadMessage(BinaryReader r)
    {
        var id = r.ReadInt64();
        var folderId = r.ReadString();
        var uid = r.ReadUInt32();
        var receivedAt = ReadTime(r);
        var flags = (MessageFlags)r.ReadByte();
        var modSeq = r.ReadUInt64();
        var blob = new BlobId(r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());
        var size = r.ReadInt64();
        var from = r.ReadString();
        var to = ReadList(r);
        var cc = ReadList(r);
        var subject = r.ReadString();
        DateTimeOffset? date = r.ReadBoolean() ? ReadTime(r) : null;
        var messageId = r.ReadBoolean() ? r.ReadString() : null;
        var snippet = r.ReadString();
        var attachments = new AttachmentInfo[r.Read7BitEncodedInt()];
        for (var i = 0; i < attachments.Length; i++) attachments[i] = new AttachmentInfo(r.ReadString(), r.ReadString(), r.ReadInt64());
        var meta = new MessageMetadata(blob, size, from, to, cc, subject, date, messageId, snippet, attachments);
        return new MessageSummary(id, folderId, uid, receivedAt, flags, modSeq, meta);
    }

    private static void WriteList(BinaryWriter w, IReadOnlyList<string> list)
    {
        w.Write7BitEncodedInt(list.Count);
        foreach (var s in list) w.Write(s);
    }

    private static string[] ReadList(BinaryReader r)
    {
        var n = r.Read7BitEncodedInt();
        if (n == 0) return [];
        var list = new string[n];
        for (var i = 0; i < n; i++) list[i] = r.ReadString();
        return list;
    }

    // Millisecond precision with the offset in minutes: what the mailbox keeps.
    private static void WriteTime(BinaryWriter w, DateTimeOffset t)
    {
        w.Write(t.ToUnixTimeMilliseconds());
        w.Write((short)t.Offset.TotalMinutes);
    }

    private static DateTimeOffset ReadTime(BinaryReader r)
    {
        var ms = r.ReadInt64();
        var offset = TimeSpan.FromMinutes(r.ReadInt16());
        return DateTimeOffset.FromUnixTimeMilliseconds(ms).ToOffset(offset);
    }
}
