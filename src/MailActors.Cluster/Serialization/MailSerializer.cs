using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;
using MailActors.Core;

namespace MailActors.Cluster.Serialization;

/// <summary>
/// The one serializer for everything MailActors persists or sends between nodes. Manifests are
/// short, stable names (never CLR type names, so types can move and be renamed); events and
/// messages are JSON (System.Text.Json), mailbox snapshots are the bytes <see cref="MailboxState.ToSnapshot"/> encoded,
/// and <see cref="MailboxChanged"/> (a list of events of mixed types) is a small binary frame around its events' JSON.
/// </summary>
public sealed class MailSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4780;

    // Never reuse or change a manifest once written: journals hold them forever.
    private static readonly FrozenDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        // commands
        [typeof(RegisterMailbox)] = "c.register",
        [typeof(DeliverMessage)] = "c.deliver",
        [typeof(CreateFolder)] = "c.folder-create",
        [typeof(RenameFolder)] = "c.folder-rename",
        [typeof(DeleteFolder)] = "c.folder-delete",
        [typeof(SetMessageFlags)] = "c.flags",
        [typeof(MoveMessages)] = "c.move",
        [typeof(DeleteMessages)] = "c.delete",
        [typeof(OpenSession)] = "c.session-open",
        [typeof(CloseSession)] = "c.session-close",
        [typeof(GetAccount)] = "q.account",
        [typeof(ListFolders)] = "q.folders",
        [typeof(ListMessages)] = "q.messages",
        [typeof(GetMessage)] = "q.message",
        [typeof(CheckSession)] = "q.session",
        [typeof(GetEventCursor)] = "q.event-cursor",
        [typeof(SearchMessages)] = "q.search",
        [typeof(GetSearchStats)] = "q.search-stats",
        // replies
        [typeof(MailboxError)] = "r.error",
        [typeof(AccountInfo)] = "r.account",
        [typeof(MessageDeliveredReply)] = "r.delivered",
        [typeof(FolderReply)] = "r.folder",
        [typeof(FolderListReply)] = "r.folders",
        [typeof(MessagePageReply)] = "r.page",
        [typeof(MessageReply)] = "r.message",
        [typeof(MessagesUpdatedReply)] = "r.updated",
        [typeof(SessionInfo)] = "r.session",
        [typeof(EventCursorReply)] = "r.event-cursor",
        [typeof(Done)] = "r.done",
        [typeof(SearchStatsReply)] = "r.search-stats",
        // events
        [typeof(AccountRegistered)] = "e.registered",
        [typeof(MessageDelivered)] = "e.delivered",
        [typeof(MessageFlagsChanged)] = "e.flags",
        [typeof(MessagesMoved)] = "e.moved",
        [typeof(MessagesExpunged)] = "e.expunged",
        [typeof(FolderCreated)] = "e.folder-created",
        [typeof(FolderRenamed)] = "e.folder-renamed",
        [typeof(FoldersDeleted)] = "e.folders-deleted",
        [typeof(SessionOpened)] = "e.session-opened",
        [typeof(SessionClosed)] = "e.session-closed",
        [typeof(SearchSegmentsChanged)] = "e.search-segments",
        // notifications
        [typeof(MailboxChanged)] = "n.changed",
        // outbound queue
        [typeof(MailActors.Core.Outbound.EnqueueOutbound)] = "o.enqueue",
        [typeof(MailActors.Core.Outbound.RetryOutbound)] = "o.retry",
        [typeof(MailActors.Core.Outbound.DeleteOutbound)] = "o.delete",
        [typeof(MailActors.Core.Outbound.ListOutbound)] = "o.list",
        [typeof(MailActors.Core.Outbound.OutboundAccepted)] = "o.r.accepted",
        [typeof(MailActors.Core.Outbound.OutboundList)] = "o.r.list",
        [typeof(MailActors.Core.Outbound.OutboundUpdated)] = "o.r.updated",
        [typeof(MailActors.Core.Outbound.OutboundQueued)] = "o.e.queued",
        [typeof(MailActors.Core.Outbound.OutboundAttempted)] = "o.e.attempted",
        [typeof(MailActors.Core.Outbound.OutboundBounced)] = "o.e.bounced",
        [typeof(MailActors.Core.Outbound.OutboundRescheduled)] = "o.e.rescheduled",
        [typeof(MailActors.Core.Outbound.OutboundRemoved)] = "o.e.removed",
        [typeof(MailActors.Core.Outbound.OutboundSnapshot)] = "o.s.1",
        // snapshots
        [typeof(MailboxSnapshot)] = "s.mailbox.1",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, Type> Types = Manifests.ToFrozenDictionary(p => p.Value, p => p.Key);

    public static IReadOnlyCollection<Type> SupportedTypes => Manifests.Keys;

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new MailboxIdConverter(), new BlobIdConverter() },
    };

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"MailSerializer has no manifest for {o.GetType()}; add one (and a round-trip test)");

    public override byte[] ToBinary(object obj) => obj switch
    {
        MailboxSnapshot snapshot => snapshot.Data,
        MailboxChanged changed => WriteChanged(changed),
        _ when Manifests.ContainsKey(obj.GetType()) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json),
        _ => throw new ArgumentException($"MailSerializer can't serialize {obj.GetType()}"),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new SerializationException($"MailSerializer: unknown manifest '{manifest}'");
        if (type == typeof(MailboxSnapshot)) return new MailboxSnapshot(bytes);
        if (type == typeof(MailboxChanged)) return ReadChanged(bytes);
        return JsonSerializer.Deserialize(bytes, type, Json)
               ?? throw new SerializationException($"MailSerializer: empty payload for '{manifest}'");
    }

    // MailboxChanged frame (published, never persisted; the version byte lets mixed-version nodes
    // fail loudly instead of misreading): version, mailbox, FirstSeqNr; the events, each as its
    // manifest and length-prefixed JSON; the folder counts, each as id, total, unread.
    private const byte ChangedVersion = 1;

    private byte[] WriteChanged(MailboxChanged changed)
    {
        using var buffer = new MemoryStream(64 + changed.Events.Count * 128);
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(ChangedVersion);
            w.Write(changed.Mailbox.Value);
            w.Write(changed.FirstSeqNr);
            w.Write7BitEncodedInt(changed.Events.Count);
            foreach (var e in changed.Events)
            {
                w.Write(Manifest(e));
                var json = ToBinary(e);
                w.Write7BitEncodedInt(json.Length);
                w.Write(json);
            }
            w.Write7BitEncodedInt(changed.Counts.Count);
            foreach (var c in changed.Counts)
            {
                w.Write(c.FolderId);
                w.Write7BitEncodedInt(c.Total);
                w.Write7BitEncodedInt(c.Unread);
            }
        }
        return buffer.ToArray();
    }

    private MailboxChanged ReadChanged(byte[] bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, writable: false), System.Text.Encoding.UTF8);
            var version = r.ReadByte();
            if (version != ChangedVersion) throw new SerializationException($"MailSerializer: unknown MailboxChanged version {version}");
            var mailbox = MailboxId.FromNormalized(r.ReadString());
            var firstSeqNr = r.ReadInt64();
            var events = new IMailboxEvent[r.Read7BitEncodedInt()];
            for (var i = 0; i < events.Length; i++)
            {
                var manifest = r.ReadString();
                if (!Types.TryGetValue(manifest, out var type) || !typeof(IMailboxEvent).IsAssignableFrom(type))
                    throw new SerializationException($"MailSerializer: '{manifest}' in a MailboxChanged is not an event");
                var length = r.Read7BitEncodedInt();
                var json = r.ReadBytes(length);
                if (json.Length != length) throw new EndOfStreamException();
                events[i] = (IMailboxEvent)FromBinary(json, manifest);
            }
            var counts = new FolderCount[r.Read7BitEncodedInt()];
            for (var i = 0; i < counts.Length; i++) counts[i] = new FolderCount(r.ReadString(), r.Read7BitEncodedInt(), r.Read7BitEncodedInt());
            if (r.BaseStream.Position != r.BaseStream.Length) throw new SerializationException("MailSerializer: trailing bytes after a MailboxChanged");
            return new MailboxChanged(mailbox, firstSeqNr, events, counts);
        }
        catch (EndOfStreamException e)
        {
            throw new SerializationException("MailSerializer: truncated MailboxChanged", e);
        }
    }

    /// <summary>HOCON that registers the serializer for every MailActors protocol type.</summary>
    public static string Hocon => $$"""
        akka.actor {
          serializers.mail = "{{TypeName(typeof(MailSerializer))}}"
          serialization-bindings {
            "{{TypeName(typeof(IMailProtocol))}}" = mail
          }
        }
        """;

    private static string TypeName(Type t) => $"{t.FullName}, {t.Assembly.GetName().Name}";

    private sealed class MailboxIdConverter : JsonConverter<MailboxId>
    {
        public override MailboxId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            MailboxId.FromNormalized(reader.GetString() ?? throw new JsonException("a mailbox id can't be null"));

        public override void Write(Utf8JsonWriter writer, MailboxId value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.Value);
    }

    private sealed class BlobIdConverter : JsonConverter<BlobId>
    {
        public override BlobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            BlobId.TryParse(reader.GetString(), out var id) ? id : throw new JsonException("a blob id is 64 hex digits");

        public override void Write(Utf8JsonWriter writer, BlobId value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString());
    }
}
