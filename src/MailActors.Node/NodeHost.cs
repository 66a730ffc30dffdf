using Akka.Hosting;
using MailActors.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Node;

/// <summary>The generic host every node command runs in: console logging (Akka's included) and AddMailActors.</summary>
public static class NodeHost
{
    public static IHost Build(MailActorsOptions options, LogLevel minimumLevel = LogLevel.Information, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders()
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(minimumLevel);
        // Long enough for shard hand-off and in-flight journal writes on Ctrl+C.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddMailActors(options, (akka, _) => akka.ConfigureLoggers(l =>
        {
            l.LogLevel = minimumLevel >= LogLevel.Warning ? Akka.Event.LogLevel.WarningLevel : Akka.Event.LogLevel.InfoLevel;
            l.AddLoggerFactory();
        }));
        services?.Invoke(builder.Services);
        return builder.Build();
    }
}
