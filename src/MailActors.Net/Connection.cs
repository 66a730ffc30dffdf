using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace MailActors.Net;

/// <summary>
/// One client connection as pipes. <see cref="UpgradeToTlsAsync"/> switches to TLS in place
/// (STARTTLS); anything the client pipelined after the STARTTLS command in plain text is
/// discarded with the old reader, so it can never be taken as sent over TLS (CVE-2011-0411).
/// </summary>
public sealed class Connection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private SslStream? _tls;

    public Connection(Socket socket)
    {
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: true);
        RemoteEndPoint = (IPEndPoint)socket.RemoteEndPoint!;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        Input = PipeReader.Create(_network, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        Output = PipeWriter.Create(_network, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public IPEndPoint RemoteEndPoint { get; }
    public IPEndPoint LocalEndPoint { get; }
    public IPAddress RemoteAddress => RemoteEndPoint.Address.IsIPv4MappedToIPv6 ? RemoteEndPoint.Address.MapToIPv4() : RemoteEndPoint.Address;
    public PipeReader Input { get; private set; }
    public PipeWriter Output { get; private set; }
    public bool IsTls => _tls is not null;
    public SslProtocols TlsProtocol => _tls?.SslProtocol ?? SslProtocols.None;
    public string? TlsCipher => _tls?.NegotiatedCipherSuite.ToString();

    public async Task UpgradeToTlsAsync(X509Certificate2 certificate, TimeSpan timeout, CancellationToken ct)
    {
        if (_tls is not null) throw new InvalidOperationException("already TLS");
        await Output.FlushAsync(ct);
        await Input.CompleteAsync();
        await Output.CompleteAsync();
        var tls = new SslStream(_network, leaveInnerStreamOpen: true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = false,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        }, cts.Token);
        _tls = tls;
        Input = PipeReader.Create(tls, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        Output = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Input.CompleteAsync();
            await Output.CompleteAsync();
        }
        catch (Exception) { /* peer gone */ }
        if (_tls is not null) await _tls.DisposeAsync();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        await _network.DisposeAsync();
    }
}
