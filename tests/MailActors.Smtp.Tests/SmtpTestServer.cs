using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Smtp.Tests;

/// <summary>A node with the SMTP MX on a free loopback port, in a plain generic host.</summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _dir;

    private SmtpTestServer(IHost host, string dir, SmtpServerOptions options)
    {
        _host = host;
        _dir = dir;
        Options = options;
    }

    public SmtpServerOptions Options { get; }
    public MailboxClient Mailboxes => _host.Services.GetRequiredService<MailboxClient>();
    public IBlobStore Blobs => _host.Services.GetRequiredService<IBlobStore>();
    public IPEndPoint Endpoint => _host.Services.GetRequiredService<SmtpServer>().Endpoint;
    public string DataDirectory => _dir;

    public static async Task<SmtpTestServer> StartAsync(Func<SmtpServerOptions, SmtpServerOptions>? configure = null, string? dataDirectory = null, int port = 0)
    {
        var dir = dataDirectory ?? Directory.CreateTempSubdirectory("mailactors-smtp.").FullName;
        var options = new SmtpServerOptions { Address = IPAddress.Loopback, Port = port, Hostname = "mx.test", LocalDomains = ["example.test", "localhost"] };
        options = configure?.Invoke(options) ?? options;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMailActors(new MailActorsOptions
        {
            DataDirectory = dir,
            PasswordIterations = PasswordHasher.MinIterations,
            AskTimeout = TimeSpan.FromSeconds(20),
        });
        builder.Services.AddSmtpIngress(options);
        var host = builder.Build();
        await host.StartAsync();
        var server = new SmtpTestServer(host, dir, options);
        var cluster = Akka.Cluster.Cluster.Get(host.Services.GetRequiredService<ActorSystem>());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (cluster.SelfMember.Status != Akka.Cluster.MemberStatus.Up && DateTime.UtcNow < deadline) await Task.Delay(50);
        return server;
    }

    public async Task AddUserAsync(string address, long? quota = null) =>
        await Mailboxes.RegisterAsync(address, "correct horse battery", quotaBytes: quota);

    public async Task<IReadOnlyList<MessageSummary>> InboxAsync(string address) =>
        (await Mailboxes.ListMessagesAsync(address, SystemFolders.Inbox, limit: 200)).Items;

    public async Task<string> RawMessageAsync(MessageSummary message)
    {
        await using var stream = await Blobs.OpenReadAsync(message.Metadata.Blob);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    public async ValueTask StopKeepingDataAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>A byte-exact SMTP client for what MailKit won't send: smuggling, bad syntax, pipelining.</summary>
public sealed class RawSmtp : IAsyncDisposable
{
    private readonly TcpClient _client = new();
    private Stream _stream = null!;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly StringBuilder _pending = new();

    public static async Task<RawSmtp> ConnectAsync(IPEndPoint endpoint)
    {
        var raw = new RawSmtp();
        await raw._client.ConnectAsync(endpoint);
        raw._stream = raw._client.GetStream();
        return raw;
    }

    /// <summary>Connects with TLS from the first byte (the implicit-TLS submission port).</summary>
    public static async Task<RawSmtp> ConnectTlsAsync(IPEndPoint endpoint)
    {
        var raw = await ConnectAsync(endpoint);
        await raw.UpgradeToTlsAsync();
        return raw;
    }

    /// <summary>Switches to TLS in place (after a 220 to STARTTLS), accepting any certificate.</summary>
    public async Task UpgradeToTlsAsync()
    {
        var tls = new System.Net.Security.SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("localhost");
        _stream = tls;
    }

    public Task SendAsync(string text) => _stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

    /// <summary>Reads one (possibly multi-line) reply; returns the lines, or null if the server closed.</summary>
    public async Task<List<string>?> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var lines = new List<string>();
        while (true)
        {
            var text = _pending.ToString();
            var end = text.IndexOf("\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var line = text[..end];
                _pending.Remove(0, end + 2);
                lines.Add(line);
                if (line.Length < 4 || line[3] != '-') return lines;
                continue;
            }
            var read = await _stream.ReadAsync(_buffer, cts.Token);
            if (read == 0) return lines.Count > 0 ? lines : null;
            _pending.Append(Encoding.UTF8.GetString(_buffer, 0, read));
        }
    }

    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return (await ReadReplyAsync())?[^1] ?? "(closed)";
    }

    public async Task<string> GreetAsync()
    {
        var greeting = await ReadReplyAsync();
        var ehlo = await CommandAsync("EHLO client.test");
        return greeting![0] + " / " + ehlo;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
