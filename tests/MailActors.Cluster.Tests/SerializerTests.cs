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

    private static string Render(object o) => JsonSerializer.Serialize(o, o.GetType());
}
