using System.Text.Json;
using Akka.Configuration;
using MailActors.Cluster.Serialization;
using MailActors.Core;
using Xunit;

namespace MailActors.Cluster.Tests;

public class SerializerTests() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString(MailSerializer.Hocon))
{
    public static TheoryData<string> TypeNames() => new(Samples.All().Select(o => o.GetType().Name));

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void Every_protocol_type_round_trips(string typeName)
    {
        var original = Samples.All().Single(o => o.GetType().Name == typeName);
        var serializer = Sys.Serialization.FindSerializerFor(original);
        Assert.IsType<MailSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, original);
        var bytes = serializer.ToBinary(original);
        var copy = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);
        Assert.IsType(original.GetType(), copy);
        // Records holding lists compare by reference, so compare their full JSON renderings.
        Assert.Equal(Render(original), Render(copy));
    }

    [Fact]
    public void Every_protocol_type_has_a_sample_and_a_manifest()
    {
        var protocol = typeof(IMailProtocol).Assembly.GetTypes()
            .Where(t => typeof(IMailProtocol).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
            .ToHashSet();
        Assert.Equal(protocol.OrderBy(t => t.Name), MailSerializer.SupportedTypes.OrderBy(t => t.Name));
        Assert.Equal(protocol.OrderBy(t => t.Name), Samples.All().Select(o => o.GetType()).Distinct().OrderBy(t => t.Name));
    }

    [Fact]
    public void Unknown_manifests_fail_loudly()
    {
        var serializer = (MailSerializer)Sys.Serialization.FindSerializerForType(typeof(Done));
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary([1, 2, 3], "e.no-such-event"));
    }

    [Fact]
    public void Snapshot_dates_keep_their_offset()
    {
        var snapshot = (MailboxSnapshot)Samples.All().Single(o => o is MailboxSnapshot);
        var copy = SnapshotCodec.Decode(SnapshotCodec.Encode(snapshot));
        Assert.Equal(TimeSpan.FromHours(2), copy.Messages[0].Metadata.Date!.Value.Offset);
    }

    private static string Render(object o) => o switch
    {
        MailboxSnapshot s => JsonSerializer.Serialize(s with { }, new JsonSerializerOptions { IncludeFields = true, Converters = { new UInt128Json() } }),
        _ => JsonSerializer.Serialize(o, o.GetType()),
    };

    private sealed class UInt128Json : System.Text.Json.Serialization.JsonConverter<UInt128>
    {
        public override UInt128 Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => UInt128.Parse(reader.GetString()!);
        public override void Write(Utf8JsonWriter writer, UInt128 value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }
}
