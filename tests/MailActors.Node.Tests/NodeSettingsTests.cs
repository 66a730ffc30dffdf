using Xunit;

namespace MailActors.Node.Tests;

public class NodeSettingsTests
{
    private static readonly Dictionary<string, string?> NoEnv = [];

    [Fact]
    public void Defaults_come_from_node_hocon()
    {
        var (s, rest) = NodeSettings.Load([], NoEnv);
        Assert.Empty(rest);
        Assert.Equal(["localhost"], s.Domains);
        Assert.Equal((8080, 2525, 5870, 1143, 1110, 0), (s.HttpPort, s.SmtpPort, s.SubmissionPort, s.ImapPort, s.Pop3Port, s.ClusterPort));
        Assert.Null(s.Postgres);
        Assert.Empty(s.SeedNodes);
        Assert.Equal(Path.GetFullPath("data"), s.DataDirectory);
    }

    [Fact]
    public void Flags_beat_environment_which_beats_the_file()
    {
        var env = new Dictionary<string, string?> { ["MAILACTORS_SMTP_PORT"] = "2600", ["MAILACTORS_HTTP_PORT"] = "9000", ["MAILACTORS_DOMAINS"] = "a.test, b.test" };
        var (s, _) = NodeSettings.Load(["--smtp-port", "2700", "--seed-node", "10.0.0.1:4053", "--seed-node", "10.0.0.2:4053"], env);
        Assert.Equal(2700, s.SmtpPort);
        Assert.Equal(9000, s.HttpPort);
        Assert.Equal(["a.test", "b.test"], s.Domains);
        Assert.Equal(["10.0.0.1:4053", "10.0.0.2:4053"], s.SeedNodes);
    }

    [Fact]
    public void Repeated_domain_flags_replace_the_default_list_and_are_normalized()
    {
        var (s, _) = NodeSettings.Load(["--domain", "Example.COM.", "--domain", "example.org", "--domain", "example.com"], NoEnv);
        Assert.Equal(["example.com", "example.org"], s.Domains);
    }

    [Fact]
    public void A_config_file_is_layered_over_the_defaults()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "mailactors { imap-port = 1993, mailbox.snapshot-every = 250 }");
        try
        {
            var (s, _) = NodeSettings.Load(["--config", file], NoEnv);
            Assert.Equal((1993, 250, 2525), (s.ImapPort, s.SnapshotEvery, s.SmtpPort));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Commands_are_passed_through()
    {
        var (_, rest) = NodeSettings.Load(["user", "add", "a@b.c", "--data-dir", "/tmp/x", "--password", "p"], NoEnv);
        Assert.Equal(["user", "add", "a@b.c", "--password", "p"], rest);
    }

    [Theory]
    [InlineData("--smtp-port", "70000")]
    [InlineData("--http-port", "eighty")]
    [InlineData("--seed-node", "no-port")]
    [InlineData("--seed-node", "host:0")]
    [InlineData("--config", "/no/such/file.hocon")]
    public void Bad_values_are_clear_errors(string flag, string value) =>
        Assert.Throws<ArgumentException>(() => NodeSettings.Load([flag, value], NoEnv));

    [Fact]
    public void A_flag_without_its_value_is_an_error() =>
        Assert.Throws<ArgumentException>(() => NodeSettings.Load(["--data-dir"], NoEnv));
}
