using System.Net;
using MailActors.Cluster;
using MailActors.Gateway.Api;
using MailActors.Gateway.Auth;
using MailActors.Gateway.Realtime;
using MailActors.Mime;
using MailActors.Net;
using MailActors.Storage.Blobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;

namespace MailActors.Gateway;

public static class GatewayHosting
{
    /// <summary>
    /// The gateway's services: session auth, message rendering, realtime hub, OpenAPI, health
    /// checks and metrics. Needs <c>AddMailActors</c> on the same service collection.
    /// </summary>
    public static IServiceCollection AddMailGateway(this IServiceCollection services, GatewayOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<SessionAuthenticator>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<EventHub>();
        // Start the hub with the node, so it hears session revocations before any client connects.
        services.AddHostedService<EventHubStarter>();
        services.AddSingleton<ChangeFeed>();
        services.AddSingleton(sp => new MessageRenderer(sp.GetRequiredService<IBlobStore>(), new MessageRendererOptions { CacheBytes = options.RenderCacheBytes }));

        services.AddAuthentication(SessionAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, SessionAuthenticationHandler>(SessionAuthenticationHandler.SchemeName, null);
        services.AddAuthorization();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c => Problems.Normalize(c.ProblemDetails));
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, GatewayJson.Default);
            // Responses are application/json with nosniff, never inlined into HTML: '<' and
            // non-ASCII need no \u escapes, which made every "Name <addr>" slower and longer.
            o.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        });
        services.Configure<FormOptions>(o =>
        {
            o.MultipartBodyLengthLimit = options.MaxComposeBytes;
            // Form fields carry the text and HTML bodies, which may be far over the 4 MB default.
            o.ValueLengthLimit = (int)Math.Min(int.MaxValue, options.MaxComposeBytes);
        });
        services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = options.MaxJsonBytes);
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "MailActors API";
            document.Info.Description = "Mailboxes, folders, messages, sending and realtime events. Authenticate with POST /v1/auth/login and send 'Authorization: Bearer <token>'. Errors are RFC 9457 application/problem+json.";
            document.Components ??= new Microsoft.OpenApi.OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["session"] = new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The token from POST /v1/auth/login",
            };
            document.Security = [new Microsoft.OpenApi.OpenApiSecurityRequirement { [new Microsoft.OpenApi.OpenApiSecuritySchemeReference("session", document)] = [] }];
            return Task.CompletedTask;
        }));
        services.AddHealthChecks().AddCheck<ReadinessCheck>("cluster-and-journal", tags: ["ready"]);
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(GatewayMetrics.MeterName, MailboxClient.MeterName, "MailActors.Smtp")
            .AddAspNetCoreInstrumentation()
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>Kestrel listeners for the gateway: plain HTTP and/or HTTPS with the configured or self-signed certificate.</summary>
    public static void ConfigureGatewayListeners(this IWebHostBuilder web, GatewayOptions options, string dataDirectory, string hostname)
    {
        web.ConfigureKestrel(k =>
        {
            var address = IPAddress.Parse(options.ListenAddress);
            if (options.HttpPort is { } http) k.Listen(address, http);
            if (options.HttpsPort is { } https)
            {
                var certificate = TlsCertificates.LoadOrCreate(options.CertificatePath, options.CertificatePassword, dataDirectory, hostname);
                k.Listen(address, https, l => l.UseHttps(certificate));
            }
        });
    }

    /// <summary>Maps /v1, /events, /openapi, /health and /metrics.</summary>
    public static WebApplication MapMailGateway(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            // No response of ours is ever to be sniffed into something else (HTML, script).
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseAuthentication();
        app.UseAuthorization();

        var options = app.Services.GetRequiredService<GatewayOptions>();
        var v1 = app.MapGroup("/v1").WithMetadata(new RequestSizeLimit(options.MaxJsonBytes));
        AuthEndpoints.Map(v1);
        FolderEndpoints.Map(v1);
        MessageEndpoints.Map(v1);
        SearchEndpoints.Map(v1);
        ComposeEndpoints.Map(v1, options);
        EventEndpoints.Map(v1);
        AdminEndpoints.Map(v1);

        app.MapOpenApi("/openapi/{documentName}.json");
        // Only /docs requests pass through the Swagger UI middleware (it matches paths by regex).
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/docs"), docs => docs.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "docs";
            o.SwaggerEndpoint("/openapi/v1.json", "MailActors API v1");
        }));
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}

/// <summary>Body size limit for an endpoint or group (the endpoint's own wins over its group's).</summary>
internal sealed class RequestSizeLimit(long limit) : IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize { get; } = limit;}

internal sealed class EventHubStarter(IServiceProvider services) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<EventHub>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
