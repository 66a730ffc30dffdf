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
/// messages are JSON (System.Text.Json), mailbox snapshots are the bytes <see cref="MailboxState.ToSnapshot"/> encoded.
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
        [typeof(GetAccount)] = "q.account",
        [typeof(ListFolders)] = "q.folders",
        [typeof(ListMessages)] = "q.messages",
        [typeof(GetMessage)] = "q.message",
        // replies
        [typeof(MailboxError)] = "r.error",
        [typeof(AccountInfo)] = "r.account",
        [typeof(MessageDeliveredReply)] = "r.delivered",
        [typeof(FolderReply)] = "r.folder",
        [typeof(FolderListReply)] = "r.folders",
        [typeof(MessagePageReply)] = "r.page",
        [typeof(MessageReply)] = "r.message",
        [typeof(MessagesUpdatedReply)] = "r.updated",
        [typeof(Done)] = "r.done",
        // events
        [typeof(AccountRegistered)] = "e.registered",
        [typeof(MessageDelivered)] = "e.delivered",
        [typeof(MessageFlagsChanged)] = "e.flags",
        [typeof(MessagesMoved)] = "e.moved",
        [typeof(MessagesExpunged)] = "e.expunged",
        [typeof(FolderCreated)] = "e.folder-created",
        [typeof(FolderRenamed)] = "e.folder-renamed",
        [typeof(FoldersDeleted)] = "e.folders-deleted",
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
        _ when Manifests.ContainsKey(obj.GetType()) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json),
        _ => throw new ArgumentException($"MailSerializer can't serialize {obj.GetType()}"),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new SerializationException($"MailSerializer: unknown manifest '{manifest}'");
        if (type == typeof(MailboxSnapshot)) return new MailboxSnapshot(bytes);
        return JsonSerializer.Deserialize(bytes, type, Json)
               ?? throw new SerializationException($"MailSerializer: empty payload for '{manifest}'");
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
