using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using Akka.Actor;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Gateway.Api;
using MailActors.Mime;
using MailActors.Smtp;
using MailActors.Storage.Blobs;
using MailActors.Storage.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace MailActors.Gateway.Tests.Infrastructure;

/// <summary>
/// A node with the gateway, hosted the way MailActors.Node hosts it: in-process (TestServer)
/// for API tests, or on a real Kestrel socket (plus SMTP ingress) for WebSocket and SMTP tests.
/// </summary>
public sealed class GatewayTestHost : IAsyncDisposable
{
    public const string Domain = "example.test";
    public const string Password = "correct horse battery";

    private readonly WebApplication _app;
    private readonly string? _ownedDirectory;

    private GatewayTestHost(WebApplication app, string? ownedDirectory, bool kestrel)
    {
        _app = app;
        _ownedDirectory = ownedDirectory;
        Client = kestrel ? new HttpClient { BaseAddress = new Uri(app.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal))) } : app.GetTestServer().CreateClient();
    }

    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;
    public MailboxClient Mailboxes => Services.GetRequiredService<MailboxClient>();
    public IBlobStore Blobs => Services.GetRequiredService<IBlobStore>();
    public ActorSystem System => Services.GetRequiredService<ActorSystem>();
    public Uri BaseAddress => Client.BaseAddress!;
    public ICollection<string> Urls => _app.Urls;
    public IPEndPoint SmtpEndpoint => Services.GetRequiredService<SmtpServer>().Endpoint;

    public static MailActorsOptions NodeOptions(string dataDirectory, JournalOptions? journal = null) => new()
    {
        DataDirectory = dataDirectory,
        LocalDomains = [Domain],
        Journal = journal,
        PasswordIterations = PasswordHasher.MinIterations,
        AskTimeout = TimeSpan.FromSeconds(20),
    };

    public static GatewayOptions TestGatewayOptions => new()
    {
        HttpPort = 0,
        LoginBurstPerIp = 10_000,
        SignupBurstPerIp = 10_000,
        SessionCheckInterval = TimeSpan.FromSeconds(1),
        MaxJsonBytes = 64 * 1024,
    };

    /// <param name="kestrel">Real sockets (HTTP on a free port, SMTP ingress too) instead of the in-process TestServer.</param>
    public static async Task<GatewayTestHost> StartAsync(bool kestrel = false, GatewayOptions? gateway = null, MailActorsOptions? node = null)
    {
        var owned = node is null ? Directory.CreateTempSubdirectory("mailactors-gw.").FullName : null;
        var options = node ?? NodeOptions(owned!);
        var gatewayOptions = gateway ?? TestGatewayOptions;
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMailActors(options);
        builder.Services.AddMailGateway(gatewayOptions);
        if (kestrel)
        {
            builder.WebHost.ConfigureGatewayListeners(gatewayOptions with { HttpPort = 0 }, options.DataDirectory, "localhost");
            builder.Services.AddSmtpIngress(new SmtpServerOptions { Port = 0, Hostname = "mx." + Domain, LocalDomains = [Domain], Address = IPAddress.Loopback });
        }
        else
        {
            builder.WebHost.UseTestServer();
        }
        var app = builder.Build();
        app.MapMailGateway();
        await app.StartAsync();
        var host = new GatewayTestHost(app, owned, kestrel);
        await host.WaitUntilUpAsync();
        return host;
    }

    private async Task WaitUntilUpAsync()
    {
        var cluster = Akka.Cluster.Cluster.Get(System);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public static string NewAddress(string name = "user") => $"{name}-{Guid.NewGuid():N}"[..20] + "@" + Domain;

    /// <summary>Signs up and logs in a fresh user; the returned client sends its bearer token.</summary>
    public async Task<UserClient> NewUserAsync(string name = "user")
    {
        var address = NewAddress(name);
        var signup = await Client.PostAsJsonAsync("/v1/auth/signup", new { address, password = Password });
        Assert.Equal(HttpStatusCode.Created, signup.StatusCode);
        return await LoginAsync(address);
    }

    public async Task<UserClient> LoginAsync(string address, string password = Password)
    {
        var login = await Client.PostAsJsonAsync("/v1/auth/login", new { address, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var body = (await login.Content.ReadFromJsonAsync<LoginResponse>())!;
        var client = NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.Token);
        return new UserClient(address, body.Token, client);
    }

    /// <summary>A client without credentials, in-process or over the socket like <see cref="Client"/>.</summary>
    public HttpClient NewClient() =>
        Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>() is TestServer test
            ? test.CreateClient()
            : new HttpClient { BaseAddress = BaseAddress };

    /// <summary>Stores raw MIME and delivers it the way SMTP ingress does (blob + metadata).</summary>
    public async Task<long> DeliverRawAsync(string address, string raw, string? deliveryId = null)
    {
        var stored = await Blobs.PutAsync(new MemoryStream(global::System.Text.Encoding.UTF8.GetBytes(raw)));
        var message = await MimeKit.MimeMessage.LoadAsync(await Blobs.OpenReadAsync(stored.Id));
        var metadata = MessageParser.FromMime(message, stored.Id, stored.Size);
        return (await Mailboxes.DeliverAsync(address, deliveryId ?? Guid.NewGuid().ToString("N"), metadata)).MessageId;
    }

    public static string Mail(string from, string to, string subject, string body = "Hello there.") =>
        $"From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{Guid.NewGuid():N}@test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownedDirectory is not null)
        {
            try { Directory.Delete(_ownedDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

public sealed record UserClient(string Address, string Token, HttpClient Http) : IDisposable
{
    public void Dispose() => Http.Dispose();
}

/// <summary>One gateway node shared by the tests of a class; every test works with its own fresh users.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public GatewayTestHost Host { get; private set; } = null!;
    public async Task InitializeAsync() => Host = await GatewayTestHost.StartAsync();
    public async Task DisposeAsync() => await Host.DisposeAsync();
}
