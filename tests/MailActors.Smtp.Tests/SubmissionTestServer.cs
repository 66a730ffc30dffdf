using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Akka.Actor;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Smtp.Tests;

/// <summary>Stands in for the real submission handler: records what it was given, with the stored blob's text.</summary>
public sealed class RecordingSubmissionHandler : ISubmissionHandler
{
    private readonly ConcurrentQueue<(Submission Submission, string Raw)> _received = new();

    public IBlobStore? Blobs { get; set; }

    /// <summary>The answer to give; the default accepts.</summary>
    public Func<Submission, SubmissionOutcome> Answer { get; set; } = s => new SubmissionOutcome(250, $"250 2.0.0 Ok: queued as {s.Blob.ToString()[..12]}");

    public IReadOnlyList<(Submission Submission, string Raw)> Received => _received.ToList();

    public async Task<SubmissionOutcome> SubmitAsync(Submission submission, CancellationToken ct)
    {
        await using var stream = await Blobs!.OpenReadAsync(submission.Blob, ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var raw = await reader.ReadToEndAsync(ct);
        var outcome = Answer(submission);
        _received.Enqueue((submission, raw));
        return outcome;
    }
}

/// <summary>A node with SMTP submission (STARTTLS and implicit-TLS ports on free loopback ports) and a recording handler.</summary>
public sealed class SubmissionTestServer : IAsyncDisposable
{
    public const string Password = "correct horse battery";

    private readonly IHost _host;
    private readonly string _dir;

    private SubmissionTestServer(IHost host, string dir, SubmissionOptions options, RecordingSubmissionHandler handler)
    {
        _host = host;
        _dir = dir;
        Options = options;
        Handler = handler;
    }

    public SubmissionOptions Options { get; }
    public RecordingSubmissionHandler Handler { get; }
    public MailboxClient Mailboxes => _host.Services.GetRequiredService<MailboxClient>();
    public IPEndPoint Endpoint => _host.Services.GetRequiredService<SubmissionServer>().Endpoint;
    public IPEndPoint ImplicitTlsEndpoint => _host.Services.GetRequiredService<SubmissionServer>().ImplicitTlsEndpoint;

    public static async Task<SubmissionTestServer> StartAsync(Func<SubmissionOptions, SubmissionOptions>? configure = null)
    {
        var dir = Directory.CreateTempSubdirectory("mailactors-submission.").FullName;
        var options = new SubmissionOptions
        {
            Address = IPAddress.Loopback,
            Port = 0,
            ImplicitTlsPort = 0,
            Hostname = "submit.test",
            LocalDomains = ["example.test"],
        };
        options = configure?.Invoke(options) ?? options;
        var handler = new RecordingSubmissionHandler();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMailActors(new MailActorsOptions
        {
            DataDirectory = dir,
            PasswordIterations = PasswordHasher.MinIterations,
            AskTimeout = TimeSpan.FromSeconds(20),
        });
        builder.Services.AddSingleton<ISubmissionHandler>(handler);
        builder.Services.AddSmtpSubmission(options);
        var host = builder.Build();
        handler.Blobs = host.Services.GetRequiredService<IBlobStore>();
        await host.StartAsync();
        var cluster = Akka.Cluster.Cluster.Get(host.Services.GetRequiredService<ActorSystem>());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (cluster.SelfMember.Status != Akka.Cluster.MemberStatus.Up && DateTime.UtcNow < deadline) await Task.Delay(50);
        return new SubmissionTestServer(host, dir, options, handler);
    }

    public async Task AddUserAsync(string address) => await Mailboxes.RegisterAsync(address, Password);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
