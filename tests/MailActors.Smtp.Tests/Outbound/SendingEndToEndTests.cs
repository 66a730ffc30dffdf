using System.Net;
using DnsClient;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Mime.Dkim;
using MailActors.Smtp.Outbound;
using MailActors.Smtp.Tests.Peers;
using MailActors.Storage.Blobs;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Cryptography;
using Xunit;

namespace MailActors.Smtp.Tests.Outbound;

/// <summary>
/// The whole sending path with real parts: a user of one.test submits over SMTP (STARTTLS +
/// AUTH) to node A; A signs with DKIM, queues, looks up two.test's MX in a private dnsmasq and
/// delivers over SMTP to node B, the MX of two.test — or to a Postfix smtp-sink that refuses.
/// </summary>
public sealed class SendingEndToEndTests : IAsyncDisposable
{
    private const string Password = "correct horse battery";
    private readonly List<IHost> _hosts = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("mailactors-send.").FullName;

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task Mail_from_one_domain_reaches_the_other_through_dns_and_smtp_and_its_dkim_signature_verifies()
    {
        var b = await StartNodeAsync("b", "two.test");
        var bSmtp = b.Services.GetRequiredService<SmtpServer>().Endpoint.Port;
        var dkim = new DkimKeyStore(Path.Combine(_dir, "a", "dkim")).GetOrCreate("one.test");
        await using var dns = await DnsmasqServer.StartAsync(
            "mx-host=two.test,mx.two.test,10",
            "host-record=mx.two.test,127.0.0.1",
            $"txt-record={dkim.DnsName},\"{dkim.TxtRecord}\"");
        var a = await StartNodeAsync("a", "one.test", egressPort: bSmtp, dns: dns.Endpoint);

        await a.Services.GetRequiredService<MailboxClient>().RegisterAsync("alice@one.test", Password);
        await b.Services.GetRequiredService<MailboxClient>().RegisterAsync("bob@two.test", Password);
        await SubmitAsync(a, "alice@one.test", "bob@two.test", "Across domains");

        var bob = b.Services.GetRequiredService<MailboxClient>();
        var arrived = await EventuallyAsync(async () => (await bob.ListMessagesAsync("bob@two.test", SystemFolders.Inbox)).Items.FirstOrDefault());
        Assert.Equal("Across domains", arrived.Metadata.Subject);
        // Alice's copy is in her Sent.
        Assert.Single((await a.Services.GetRequiredService<MailboxClient>().ListMessagesAsync("alice@one.test", SystemFolders.Sent)).Items);

        // The DKIM signature verifies on arrival, with the key looked up in DNS.
        await using var raw = await b.Services.GetRequiredService<IBlobStore>().OpenReadAsync(arrived.Metadata.Blob);
        var message = await MimeMessage.LoadAsync(raw);
        var lookup = new LookupClient(new LookupClientOptions(new NameServer(dns.Endpoint)) { UseCache = false });
        var locator = new DnsTxtPublicKeyLocator(async (name, ct) =>
            string.Concat((await lookup.QueryAsync(name, QueryType.TXT, cancellationToken: ct)).Answers.TxtRecords().SelectMany(t => t.Text)));
        var signature = message.Headers[message.Headers.IndexOf(HeaderId.DkimSignature)];
        Assert.Contains("d=one.test", signature.Value);
        Assert.True(await new DkimVerifier(locator).VerifyAsync(message, signature), "DKIM signature did not verify");
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath, SmtpSink.SmtpSinkPath)]
    public async Task A_550_from_the_remote_comes_back_as_a_bounce_naming_the_recipient()
    {
        await using var sink = await SmtpSink.StartAsync(options: ["-f", "RCPT"]);
        await using var dns = await DnsmasqServer.StartAsync("mx-host=far.test,mx.far.test,10", "host-record=mx.far.test,127.0.0.1");
        var a = await StartNodeAsync("a", "one.test", egressPort: sink.Port, dns: dns.Endpoint);
        var alice = a.Services.GetRequiredService<MailboxClient>();
        await alice.RegisterAsync("alice@one.test", Password);
        await SubmitAsync(a, "alice@one.test", "nobody@far.test", "Doomed");

        var bounce = await EventuallyAsync(async () => (await alice.ListMessagesAsync("alice@one.test", SystemFolders.Inbox)).Items.FirstOrDefault());
        Assert.Equal("Undelivered Mail Returned to Sender", bounce.Metadata.Subject);
        await using var raw = await a.Services.GetRequiredService<IBlobStore>().OpenReadAsync(bounce.Metadata.Blob);
        var text = await new StreamReader(raw).ReadToEndAsync();
        Assert.Contains("Final-Recipient: rfc822; nobody@far.test", text);
        Assert.Contains("Action: failed", text);
        Assert.Matches(@"Diagnostic-Code: smtp; .*\b5\d\d\b", text); // the sink's 5xx reply to RCPT
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task A_451_is_retried_and_then_delivered_without_a_bounce()
    {
        var rcpts = 0;
        await using var peer = new ScriptedSmtpServer(_ => Interlocked.Increment(ref rcpts) == 1 ? "451 4.7.1 Greylisted, try again later" : null);
        await using var dns = await DnsmasqServer.StartAsync("mx-host=grey.test,mx.grey.test,10", "host-record=mx.grey.test,127.0.0.1");
        var a = await StartNodeAsync("a", "one.test", egressPort: peer.Port, dns: dns.Endpoint);
        var alice = a.Services.GetRequiredService<MailboxClient>();
        await alice.RegisterAsync("alice@one.test", Password);
        await SubmitAsync(a, "alice@one.test", "carol@grey.test", "Second time lucky");

        await EventuallyAsync(() => Task.FromResult(peer.Messages.IsEmpty ? null : "arrived"));
        var (recipients, data) = peer.Messages.First();
        Assert.Equal(["carol@grey.test"], recipients);
        Assert.Contains("Subject: Second time lucky", data);
        Assert.True(rcpts >= 2, "the first RCPT was refused with 451 and retried");
        var outbound = a.Services.GetRequiredService<Cluster.Outbound.OutboundClient>();
        await EventuallyAsync(async () => (await outbound.ListAsync("grey.test")).Entries.Count == 0 ? "empty" : null);
        Assert.Empty((await alice.ListMessagesAsync("alice@one.test", SystemFolders.Inbox)).Items);
    }

    [RequiresToolFact(DnsmasqServer.DnsmasqPath)]
    public async Task A_domain_with_a_null_mx_bounces_at_once()
    {
        await using var dns = await DnsmasqServer.StartAsync("mx-host=nomail.test,.,0");
        var a = await StartNodeAsync("a", "one.test", egressPort: 9, dns: dns.Endpoint);
        var alice = a.Services.GetRequiredService<MailboxClient>();
        await alice.RegisterAsync("alice@one.test", Password);
        await SubmitAsync(a, "alice@one.test", "x@nomail.test", "Nowhere");
        var bounce = await EventuallyAsync(async () => (await alice.ListMessagesAsync("alice@one.test", SystemFolders.Inbox)).Items.FirstOrDefault());
        Assert.Equal("Undelivered Mail Returned to Sender", bounce.Metadata.Subject);
    }

    private async Task<IHost> StartNodeAsync(string name, string domain, int egressPort = 25, IPEndPoint? dns = null)
    {
        var dir = Path.Combine(_dir, name);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMailActors(new MailActorsOptions
        {
            DataDirectory = dir,
            LocalDomains = [domain],
            PasswordIterations = PasswordHasher.MinIterations,
            Outbound = new Cluster.Outbound.OutboundSettings
            {
                Retry = new Core.Outbound.RetryPolicy { First = TimeSpan.FromMilliseconds(500), Max = TimeSpan.FromSeconds(2) },
            },
        });
        builder.Services.AddSmtpIngress(new SmtpServerOptions { Address = IPAddress.Loopback, Port = 0, Hostname = "mx." + domain, LocalDomains = [domain] });
        builder.Services.AddSingleton<ISubmissionHandler, MailSenderSubmissionHandler>();
        builder.Services.AddSmtpSubmission(new SubmissionOptions { Address = IPAddress.Loopback, Port = 0, Hostname = "submit." + domain, LocalDomains = [domain] });
        builder.Services.AddSmtpEgress(new EgressOptions { HeloName = "mx." + domain, Port = egressPort, ConnectTimeout = TimeSpan.FromSeconds(5) },
            new DnsOptions { Servers = dns is null ? [] : [dns], Timeout = TimeSpan.FromSeconds(2), Retries = 0, UseCache = false });
        var host = builder.Build();
        _hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    private static async Task SubmitAsync(IHost node, string from, string to, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello from the other side." };
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        var endpoint = node.Services.GetRequiredService<SubmissionServer>().Endpoint;
        await client.ConnectAsync("127.0.0.1", endpoint.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(from, Password);
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, int seconds = 30) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (await probe() is { } found) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("nothing arrived");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            host.Dispose();
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
