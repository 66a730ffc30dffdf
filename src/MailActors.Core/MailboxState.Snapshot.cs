namespace MailActors.Core;

/// <summary>
/// Snapshot format, written straight from the in-memory representation: addresses once in a
/// string table, subject/Message-ID/snippet as the same packed UTF-8 the mailbox keeps. A
/// 100,000-message mailbox must load in well under 300 ms, which rules out JSON and any
/// per-field string round trip.
/// Formats: 1 = account, folders, messages, delivery ids; 2 = format 1 + sessions at the end;
/// 3 = format 2 + the search index's segment list.
/// Journals keep old snapshots, so every format ever written stays readable.
/// </summary>
public sealed partial class MailboxState
{
    private const byte SnapshotFormat = 3;

    public MailboxSnapshot ToSnapshot()
    {
        using var buffer = new MemoryStream(256 + _messages.Count * 200);
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(SnapshotFormat);
            w.Write(Mailbox.Value);
            w.Write(Account is not null);
            if (Account is { } a)
            {
                w.Write(a.PasswordHash);
                w.Write(a.DisplayName);
                w.Write(a.QuotaBytes);
                w.Write(a.At.ToUnixTimeMilliseconds());
                w.Write(a.UidValidity);
            }
            w.Write(NextMessageId);
            w.Write(ModSeq);
            w.Write(_lastUidValidity);
            w.Write(_nextFolderNumber);

            var folderIndex = new Dictionary<Folder, int>();
            w.Write7BitEncodedInt(_folders.Count);
            foreach (var f in _folders.Values)
            {
                folderIndex[f] = folderIndex.Count;
                w.Write(f.Id);
                w.Write(f.Name);
                w.Write(f.IsSystem);
                w.Write(f.UidValidity);
                w.Write(f.UidNext);
                w.Write(f.HighestModSeq);
            }

            var strings = new Dictionary<string, int>(StringComparer.Ordinal);
            var lists = new Dictionary<string[], int>(ReferenceEqualityComparer.Instance);
            foreach (var m in _messages.Values)
            {
                strings.TryAdd(m.From, strings.Count);
                foreach (var list in new[] { m.To, m.Cc })
                {
                    if (!lists.TryAdd(list, lists.Count)) continue;
                    foreach (var s in list) strings.TryAdd(s, strings.Count);
                }
            }
            w.Write7BitEncodedInt(strings.Count);
            foreach (var s in strings.Keys) w.Write(s);
            w.Write7BitEncodedInt(lists.Count);
            foreach (var list in lists.Keys)
            {
                w.Write7BitEncodedInt(list.Length);
                foreach (var s in list) w.Write7BitEncodedInt(strings[s]);
            }

            w.Write7BitEncodedInt(_messages.Count);
            foreach (var m in _messages.Values)
            {
                w.Write(m.Id);
                w.Write7BitEncodedInt(folderIndex[m.Folder]);
                w.Write(m.Uid);
                w.Write((byte)m.Flags);
                w.Write(m.ReceivedAtMs);
                w.Write(m.ModSeq);
                WriteBlob(w, m.Blob);
                w.Write(m.Size);
                w.Write(m.DateMs);
                w.Write7BitEncodedInt(strings[m.From]);
                w.Write7BitEncodedInt(lists[m.To]);
                w.Write7BitEncodedInt(lists[m.Cc]);
                w.Write7BitEncodedInt(m.Text.Length);
                w.Write(m.Text);
                w.Write7BitEncodedInt(m.Attachments.Length);
                foreach (var att in m.Attachments)
                {
                    w.Write(att.FileName);
                    w.Write(att.ContentType);
                    w.Write(att.Size);
                }
            }

            w.Write7BitEncodedInt(_deliveryOrder.Count);
            foreach (var hash in _deliveryOrder)
            {
                var (messageId, atMs) = _deliveries[hash];
                w.Write((ulong)(hash >> 64));
                w.Write((ulong)hash);
                w.Write(messageId);
                w.Write(atMs);
            }

            WriteSessions(w);
            WriteSearchSegments(w);
        }
        return new MailboxSnapshot(buffer.ToArray());
    }

    private static void WriteBlob(BinaryWriter w, BlobId blob)
    {
        w.Write(blob.A); w.Write(blob.B); w.Write(blob.C); w.Write(blob.D);
    }

    private static BlobId ReadBlob(BinaryReader r) => new(r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());

    public static MailboxState FromSnapshot(MailboxSnapshot snapshot)
    {
        using var r = new BinaryReader(new MemoryStream(snapshot.Data, writable: false), System.Text.Encoding.UTF8);
        var format = r.ReadByte();
        if (format is < 1 or > SnapshotFormat) throw new InvalidDataException($"unknown mailbox snapshot format {format}");
        var state = new MailboxState(MailboxId.FromNormalized(r.ReadString()));
        if (r.ReadBoolean())
            state.Account = new AccountRegistered(r.ReadString(), r.ReadString(), r.ReadInt64(), DateTimeOffset.FromUnixTimeMilliseconds(r.ReadInt64()), r.ReadUInt32());
        state.NextMessageId = r.ReadInt64();
        state.ModSeq = r.ReadUInt64();
        state._lastUidValidity = r.ReadUInt32();
        state._nextFolderNumber = r.ReadInt32();

        var folders = new Folder[r.Read7BitEncodedInt()];
        for (var i = 0; i < folders.Length; i++)
        {
            var f = new Folder(r.ReadString(), r.ReadString(), r.ReadBoolean(), r.ReadUInt32()) { UidNext = r.ReadUInt32(), HighestModSeq = r.ReadUInt64() };
            folders[i] = f;
            state._folders[f.Id] = f;
        }

        var strings = new string[r.Read7BitEncodedInt()];
        for (var i = 0; i < strings.Length; i++) strings[i] = state.Intern(r.ReadString());
        var lists = new string[r.Read7BitEncodedInt()][];
        for (var i = 0; i < lists.Length; i++)
        {
            var list = new string[r.Read7BitEncodedInt()];
            for (var j = 0; j < list.Length; j++) list[j] = strings[r.Read7BitEncodedInt()];
            lists[i] = state.InternList(list);
        }

        var count = r.Read7BitEncodedInt();
        for (var i = 0; i < count; i++)
        {
            var m = new StoredMessage
            {
                Id = r.ReadInt64(),
                Folder = folders[r.Read7BitEncodedInt()],
                Uid = r.ReadUInt32(),
                Flags = (MessageFlags)r.ReadByte(),
                ReceivedAtMs = r.ReadInt64(),
                ModSeq = r.ReadUInt64(),
                Blob = ReadBlob(r),
                Size = r.ReadInt64(),
                DateMs = r.ReadInt64(),
                From = strings[r.Read7BitEncodedInt()],
                To = lists[r.Read7BitEncodedInt()],
                Cc = lists[r.Read7BitEncodedInt()],
                Text = r.ReadBytes(r.Read7BitEncodedInt()),
                Attachments = ReadAttachments(r),
            };
            state._messages[m.Id] = m;
            m.Folder.Add(m);
            state.UsedBytes += m.Size;
        }

        var deliveries = r.Read7BitEncodedInt();
        for (var i = 0; i < deliveries; i++)
        {
            var hash = new UInt128(r.ReadUInt64(), r.ReadUInt64());
            state._deliveries[hash] = (r.ReadInt64(), r.ReadInt64());
            state._deliveryOrder.Enqueue(hash);
        }
        if (format >= 2) state.ReadSessions(r);
        if (format >= 3) state.ReadSearchSegments(r);
        if (r.BaseStream.Position != r.BaseStream.Length) throw new InvalidDataException("trailing bytes after the mailbox snapshot");
        return state;
    }

    private static AttachmentInfo[] ReadAttachments(BinaryReader r)
    {
        var n = r.Read7BitEncodedInt();
        if (n == 0) return [];
        var attachments = new AttachmentInfo[n];
        for (var i = 0; i < n; i++) attachments[i] = new AttachmentInfo(r.ReadString(), r.ReadString(), r.ReadInt64());
        return attachments;
    }
}
