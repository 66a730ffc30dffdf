using MailActors.Smtp.Tests.Peers;
using Xunit;
using Xunit.Abstractions;

namespace MailActors.Smtp.Tests;

/// <summary>Submission against swaks, an independent client: AUTH PLAIN and LOGIN after STARTTLS, implicit TLS, no AUTH in plain text.</summary>
public sealed class SubmissionSwaksTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string SwaksPath = "/usr/bin/swaks";
    private const string Alice = "alice@example.test";
    private SubmissionTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await SubmissionTestServer.StartAsync();
        await _server.AddUserAsync(Alice);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(int ExitCode, string Output)> SwaksAsync(int port, params string[] extra)
    {
        ExternalTools.Require(SwaksPath);
        var result = await Sh.RunAsync(SwaksPath, [
            "--server", $"127.0.0.1:{port}",
            "--helo", "client.test",
            "--from", Alice,
            "--to", "carol@remote.test",
            "--auth-user", Alice,
            "--auth-password", SubmissionTestServer.Password,
            "--header", "Subject: swaks submission",
            "--body", "Sent by swaks.",
            "--timeout", "20",
            .. extra,
        ], timeout: TimeSpan.FromSeconds(60));
        output.WriteLine($"swaks exited {result.ExitCode}:\n{result.Output}");
        return result;
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Auth_plain_after_starttls_submits()
    {
        var (exit, transcript) = await SwaksAsync(_server.Endpoint.Port, "--auth", "PLAIN", "-tls");
        Assert.True(exit == 0, transcript);
        Assert.Contains("235 2.7.0 Authentication successful", transcript);
        var (submission, raw) = Assert.Single(_server.Handler.Received);
        Assert.Equal((Alice, "carol@remote.test"), (submission.Sender, Assert.Single(submission.Recipients)));
        Assert.Equal("swaks submission", submission.Metadata.Subject);
        Assert.Contains("with ESMTPSA id", raw);
        Assert.Contains("X-Mailer: swaks", raw);
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Auth_login_over_implicit_tls_submits()
    {
        var (exit, transcript) = await SwaksAsync(_server.ImplicitTlsEndpoint.Port, "--auth", "LOGIN", "--tls-on-connect");
        Assert.True(exit == 0, transcript);
        Assert.Contains("334 UGFzc3dvcmQ6", transcript);
        Assert.Single(_server.Handler.Received);
    }

    [RequiresToolFact(SwaksPath)]
    public async Task Without_tls_auth_is_not_offered_and_nothing_is_sent()
    {
        var (exit, transcript) = await SwaksAsync(_server.Endpoint.Port, "--auth", "PLAIN");
        Assert.NotEqual(0, exit);
        Assert.DoesNotContain("AUTH PLAIN", transcript);
        Assert.Empty(_server.Handler.Received);
    }
}
