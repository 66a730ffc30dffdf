using Akka.Hosting;
using MailActors.Cluster;
using MailActors.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MailActors.Node;

/// <summary>The hosts node commands run in: console logging (Akka's included) and AddMailActors.</summary>
public static class NodeHost
{
    /// <summary>A plain generic host (admin commands: no listeners).</summary>
    public static IHost Build(MailActorsOptions options, LogLevel minimumLevel = LogLevel.Information, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder();
        Configure(builder, options, minimumLevel);
        services?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>The serving node: the same, plus Kestrel with the HTTP gateway mapped.</summary>
    public static WebApplication BuildServer(MailActorsOptions options, GatewayOptions gateway, string hostname,
        LogLevel minimumLevel = LogLevel.Information, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        Configure(builder, options, minimumLevel);
        // ASP.NET Core's per-request info logs would drown the node's own lines.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureGatewayListeners(gateway, options.DataDirectory, hostname);
        builder.Services.AddMailGateway(gateway);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapMailGateway();
        return app;
    }

    private static void Configure(IHostApplicationBuilder builder, MailActorsOptions options, LogLevel minimumLevel)
    {
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
    }
}
