using System.Collections.Concurrent;
using System.Diagnostics;

namespace MailActors.Smtp.Outbound;

/// <summary>
/// Connected (and authenticated) clients kept per "host:port" for the next message: at most
/// <c>maxPerHost</c> in use at once, idle ones RSET before reuse and closed after <c>idleLifetime</c>.
/// </summary>
internal sealed class SmtpConnectionPool : IAsyncDisposable
{
    /// <summary>An idle peer that vanished without closing would otherwise hold the RSET for the whole command timeout.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, HostSlots> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly int _maxPerHost;
    private readonly TimeSpan _idleLifetime;
    private readonly Timer _sweeper;
    private volatile bool _disposed;

    public SmtpConnectionPool(int maxPerHost, TimeSpan idleLifetime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerHost, 1);
        _maxPerHost = maxPerHost;
        _idleLifetime = idleLifetime;
        var period = TimeSpan.FromTicks(Math.Clamp(idleLifetime.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(10).Ticks));
        _sweeper = new Timer(_ => _ = SweepAsync(), null, period, period);
    }

    /// <summary>A live client for <paramref name="key"/>: an idle one that answers RSET, else a new one from <paramref name="connect"/>.</summary>
    public async Task<Lease> AcquireAsync(string key, Func<CancellationToken, Task<EgressSmtpClient>> connect, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slots = Enter(key);
        try
        {
            await slots.Permits.WaitAsync(ct);
        }
        catch
        {
            slots.Leave();
            throw;
        }
        try
        {
            while (slots.TryTakeIdle(out var idle))
            {
                if (!IsExpired(idle) && await TryResetAsync(idle, ct)) return new Lease(this, slots, idle);
                await CloseAsync(idle);
            }
            return new Lease(this, slots, await connect(ct));
        }
        catch
        {
            slots.Permits.Release();
            slots.Leave();
            throw;
        }
    }

    private HostSlots Enter(string key)
    {
        while (true)
        {
            var slots = _hosts.GetOrAdd(key, _ => new HostSlots(_maxPerHost));
            if (slots.TryEnter()) return slots;
            // the sweeper retired it between GetOrAdd and TryEnter and is removing it: take a fresh one
        }
    }

    private async ValueTask ReturnAsync(HostSlots slots, EgressSmtpClient client)
    {
        try
        {
            if (!_disposed && client.IsConnected)
            {
                client.IdleSince = Stopwatch.GetTimestamp();
                slots.AddIdle(client);
            }
            else
            {
                await CloseAsync(client);
            }
            // Disposed while this lease was out: the final sweep has run already, close it here.
            if (_disposed) foreach (var idle in slots.TakeAllIdle()) await CloseAsync(idle);
        }
        finally
        {
            slots.Permits.Release();
            slots.Leave();
        }
    }

    private bool IsExpired(EgressSmtpClient client) => Stopwatch.GetElapsedTime(client.IdleSince) >= _idleLifetime;

    /// <summary>RSET answered with 250 within <see cref="ProbeTimeout"/>; anything else (closed while idle, cancelled) = not usable.</summary>
    private static async Task<bool> TryResetAsync(EgressSmtpClient client, CancellationToken ct)
    {
        if (!client.IsConnected) return false;
        try
        {
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct);
            probe.CancelAfter(ProbeTimeout);
            return await client.ResetAsync(probe.Token);
        }
        catch (Exception)
        {
            return false;
        }
    }

    private async Task SweepAsync()
    {
        try
        {
            foreach (var (key, slots) in _hosts)
            {
                foreach (var client in slots.TakeIdle(IsExpired)) await CloseAsync(client);
                if (slots.TryRetire()) _hosts.TryRemove(new KeyValuePair<string, HostSlots>(key, slots));
            }
        }
        catch (Exception)
        {
            // a timer callback has nowhere to report to; the next sweep tries again
        }
    }

    private static async Task CloseAsync(EgressSmtpClient client)
    {
        try
        {
            if (client.IsConnected)
            {
                using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.DisconnectAsync(quit: true, quit.Token);
            }
        }
        catch (Exception)
        {
            // QUIT is a courtesy; the socket is closed by Dispose either way
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _sweeper.DisposeAsync();
        foreach (var slots in _hosts.Values)
        {
            foreach (var client in slots.TakeAllIdle()) await CloseAsync(client);
        }
    }

    /// <summary>A client on loan; disposing it gives it back (kept for reuse if still connected).</summary>
    public sealed class Lease(SmtpConnectionPool pool, HostSlots slots, EgressSmtpClient client) : IAsyncDisposable
    {
        private int _returned;

        public EgressSmtpClient Client => client;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _returned, 1) == 0 ? pool.ReturnAsync(slots, client) : ValueTask.CompletedTask;
    }

    /// <summary>One host's permits and idle clients. <c>_users</c> counts leases and waiters so the sweeper only drops unused hosts.</summary>
    internal sealed class HostSlots(int max)
    {
        private readonly Stack<EgressSmtpClient> _idle = new();
        private int _users;
        private bool _retired;

        public SemaphoreSlim Permits { get; } = new(max, max);

        public bool TryEnter()
        {
            lock (_idle)
            {
                if (_retired) return false;
                _users++;
                return true;
            }
        }

        public void Leave()
        {
            lock (_idle) _users--;
        }

        /// <summary>Unused and empty: mark it so late arrivals make a new one, and let the caller drop it.</summary>
        public bool TryRetire()
        {
            lock (_idle)
            {
                if (_users > 0 || _idle.Count > 0) return false;
                _retired = true;
                return true;
            }
        }

        public void AddIdle(EgressSmtpClient client)
        {
            lock (_idle) _idle.Push(client);
        }

        public bool TryTakeIdle(out EgressSmtpClient client)
        {
            lock (_idle) return _idle.TryPop(out client!);
        }

        public List<EgressSmtpClient> TakeIdle(Func<EgressSmtpClient, bool> predicate)
        {
            lock (_idle)
            {
                var all = _idle.Reverse().ToList(); // bottom first, so pushing back keeps the order
                _idle.Clear();
                var taken = new List<EgressSmtpClient>();
                foreach (var client in all)
                {
                    if (predicate(client)) taken.Add(client);
                    else _idle.Push(client);
                }
                return taken;
            }
        }

        public List<EgressSmtpClient> TakeAllIdle() => TakeIdle(_ => true);
    }
}
