using System.Diagnostics.Metrics;

namespace MailActors.Gateway;

/// <summary>Mail counters the gateway exports at /metrics (next to ASP.NET Core's request durations and the runtime's).</summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "MailActors.Gateway";
    private readonly Meter _meter;

    public GatewayMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        Signups = _meter.CreateCounter<long>("mailactors.gateway.signups", description: "Accounts created through the API");
        Logins = _meter.CreateCounter<long>("mailactors.gateway.logins", description: "Login attempts by outcome (ok, failed, throttled)");
        MessagesSent = _meter.CreateCounter<long>("mailactors.gateway.messages.sent", description: "Messages composed through the API");
        MessagesOpened = _meter.CreateCounter<long>("mailactors.gateway.messages.opened", description: "Message bodies rendered, by cache outcome");
        PushConnections = _meter.CreateUpDownCounter<long>("mailactors.gateway.push.connections", description: "Open WebSocket and long-poll connections");
        EventsPushed = _meter.CreateCounter<long>("mailactors.gateway.push.events", description: "Events sent to realtime clients");
    }

    public Counter<long> Signups { get; }
    public Counter<long> Logins { get; }
    public Counter<long> MessagesSent { get; }
    public Counter<long> MessagesOpened { get; }
    public UpDownCounter<long> PushConnections { get; }
    public Counter<long> EventsPushed { get; }

    public void Dispose() => _meter.Dispose();
}
