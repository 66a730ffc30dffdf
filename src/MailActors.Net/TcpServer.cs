using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace MailActors.Net;

public sealed record TcpServerOptions
{
    public required IPEndPoint Endpoint { get; init; }
    public int MaxConnections { get; init; } = 2000;
    public int MaxConnectionsPerAddress { get; init; } = 50;
}

/// <summary>
/// Accepts connections and enforces connection limits (total and per client address). A
/// connection over a limit is handed to <c>reject</c> so the protocol can say why (SMTP 421)
/// before it is closed; the others go to <c>handle</c>. A failing handler never takes the
/// listener down.
/// </summary>
public sealed class TcpServer : IAsyncDisposable
{
    private readonly TcpServerOptions _options;
    private readonly Func<Connection, CancellationToken, Task> _handle;
    private readonly Func<Connection, string, Task> _reject;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private readonly ConcurrentDictionary<Connection, Task> _running = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private int _total;

    public TcpServer(TcpServerOptions options, Func<Connection, CancellationToken, Task> handle, Func<Connection, string, Task> reject, ILogger log)
    {
        _options = options;
        _handle = handle;
        _reject = reject;
        _log = log;
    }

    /// <summary>The bound endpoint (the actual port when 0 was asked for).</summary>
    public IPEndPoint LocalEndpoint => (IPEndPoint)(_listener?.LocalEndPoint ?? throw new InvalidOperationException("not started"));

    public int ActiveConnections => Volatile.Read(ref _total);

    public void Start()
    {
        var listener = new Socket(_options.Endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(_options.Endpoint);
        listener.Listen(512);
        _listener = listener;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptAsync(_stopping.Token);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e)
            {
                _log.LogWarning(e, "accept failed");
                continue;
            }
            socket.NoDelay = true;
            var connection = new Connection(socket);
            _running[connection] = RunAsync(connection);
        }
    }

    private async Task RunAsync(Connection connection)
    {
        await Task.Yield();
        var address = connection.RemoteAddress;
        var total = Interlocked.Increment(ref _total);
        var mine = _perAddress.AddOrUpdate(address, 1, (_, n) => n + 1);
        try
        {
            if (total > _options.MaxConnections)
                await _reject(connection, "too many connections to this server, try again later");
            else if (mine > _options.MaxConnectionsPerAddress)
                await _reject(connection, $"too many connections from {address}, try again later");
            else
                await _handle(connection, _stopping.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _log.LogDebug("connection from {Remote} ended: {Reason}", connection.RemoteEndPoint, e.Message);
        }
        catch (Exception e)
        {
            _log.LogError(e, "connection from {Remote} failed", connection.RemoteEndPoint);
        }
        finally
        {
            Interlocked.Decrement(ref _total);
            _perAddress.AddOrUpdate(address, 0, (_, n) => n - 1);
            _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
            await connection.DisposeAsync();
            _running.TryRemove(connection, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener?.Dispose();
        if (_acceptLoop is not null) await _acceptLoop;
        await Task.WhenAll(_running.Values).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
        _stopping.Dispose();
    }
}
