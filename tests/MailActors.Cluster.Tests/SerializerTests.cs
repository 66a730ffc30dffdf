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
    public void A_change_notification_keeps_each_event_with_its_type_and_the_counts()
    {
        var original = Samples.Changed();
        var serializer = Sys.Serialization.FindSerializerFor(original);
        var copy = Assert.IsType<MailboxChanged>(Sys.Serialization.Deserialize(serializer.ToBinary(original), serializer.Identifier, "n.changed"));

        Assert.Equal((original.Mailbox, original.FirstSeqNr), (copy.Mailbox, copy.FirstSeqNr));
        // The generic round trip renders the list as IMailboxEvent ({}); compare by runtime type here.
        Assert.Equal(original.Events.Select(e => e.GetType()), copy.Events.Select(e => e.GetType()));
        Assert.Equal(original.Events.Select(Render), copy.Events.Select(Render));
        Assert.Equal(original.Counts, copy.Counts);
    }

    [Fact]
    public void A_damaged_change_notification_fails_loudly()
    {
        var serializer = (MailSerializer)Sys.Serialization.FindSerializerForType(typeof(MailboxChanged));
        var bytes = serializer.ToBinary(Samples.Changed());
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary(bytes[..^2], "n.changed"));
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary([.. bytes, 0], "n.changed"));
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary([99, .. bytes[1..]], "n.changed"));

        // A frame whose "event" is a command is refused, not handed on as an event.
        var command = new RegisterMailbox(Samples.Alice, "hash", "Alice", 1000);
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
        {
            w.Write((byte)1);
            w.Write(Samples.Alice.Value);
            w.Write(1L);
            w.Write7BitEncodedInt(1);
            w.Write(serializer.Manifest(command));
            var json = serializer.ToBinary(command);
            w.Write7BitEncodedInt(json.Length);
            w.Write(json);
            w.Write7BitEncodedInt(0);
        }
        var frame = buffer.ToArray();
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(frame, "n.changed"));
    }

    [Fact]
    public void Unknown_manifests_fail_loudly()
    {
        var serializer = (MailSerializer)Sys.Serialization.FindSerializerForType(typeof(Done));
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary([1, 2, 3], "e.no-such-event"));
    }

    private static string Render(object o) => JsonSerializer.Serialize(o, o.GetType());
}
