using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using MailActors.Gateway.Api;
using MailActors.Gateway.Tests.Infrastructure;
using MailActors.Storage.Persistence;
using Xunit;

namespace MailActors.Gateway.Tests;

public sealed class ClusterGatewayTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mailactors-gw-cluster.").FullName;

    [Fact]
    public async Task A_client_on_a_gateway_only_node_sees_mail_delivered_on_the_mailbox_node()
    {
        // One journal for the cluster, as PostgreSQL would be; SQLite in WAL mode allows it here.
        var journal = new JournalOptions { SqlitePath = Path.Combine(_dir, "shared.db") };
        var port = GatewayTestHost.FreePort();
        var mailboxNode = GatewayTestHost.NodeOptions(Path.Combine(_dir, "a"), journal) with { ClusterPort = port };
        var gatewayNode = GatewayTestHost.NodeOptions(Path.Combine(_dir, "b"), journal) with
        {
            SeedNodes = [$"127.0.0.1:{port}"],
            HostMailboxes = false,
        };
        await using var a = await GatewayTestHost.StartAsync(node: mailboxNode);
        await using var b = await GatewayTestHost.StartAsync(node: gatewayNode);

        // Sign-up and login through B: every mailbox command crosses to A.
        using var user = await b.NewUserAsync("far");
        var start = (await user.Http.GetFromJsonAsync<EventBatch>("/v1/events?wait=0"))!;
        var poll = user.Http.GetFromJsonAsync<EventBatch>($"/v1/events?after={start.Cursor}&wait=30");
        // Deliver right after the poll subscribed on B, before gossip has told A about it: the
        // notification is lost, and the poll's one journal re-check after propagation finds it.
        await Task.Delay(300);
        await a.DeliverRawAsync(user.Address, GatewayTestHost.Mail("x@remote.test", user.Address, "from node A"));
        var batch = (await poll.WaitAsync(TimeSpan.FromSeconds(30)))!;
        Assert.Equal("from node A", Assert.Single(batch.Events, e => e.Type == "message.new").Message!.Subject);

        var inbox = (await user.Http.GetFromJsonAsync<MessagePageResponse>("/v1/folders/inbox/messages"))!;
        Assert.Equal("from node A", Assert.Single(inbox.Items).Subject);
    }

    [Fact]
    public async Task Https_serves_the_api_with_the_nodes_self_signed_certificate()
    {
        var options = GatewayTestHost.TestGatewayOptions with { HttpsPort = 0 };
        await using var host = await GatewayTestHost.StartAsync(kestrel: true, gateway: options, node: GatewayTestHost.NodeOptions(_dir));
        var https = host.Urls.Single(u => u.StartsWith("https://", StringComparison.Ordinal));
        X509Certificate2? seen = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                seen = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.RawData);
                return true;
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(https) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal("CN=localhost", seen!.Subject);
        Assert.True(File.Exists(Path.Combine(_dir, "tls", "self-signed.pfx")), "the certificate is kept for the next start");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
