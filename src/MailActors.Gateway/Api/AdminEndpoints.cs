using Akka.Actor;
using MailActors.Cluster.Outbound;
using MailActors.Core.Outbound;
using MailActors.Gateway.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MailActors.Gateway.Api;

/// <summary>Queue administration for the accounts listed in <see cref="GatewayOptions.Admins"/> (`http.admins`).</summary>
public static class AdminEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        var admin = v1.MapGroup("/admin/queue").WithTags("Administration").RequireAuthorization()
            .AddEndpointFilter(async (context, next) =>
            {
                var options = context.HttpContext.RequestServices.GetService(typeof(GatewayOptions)) as GatewayOptions;
                var user = context.HttpContext.User.Address();
                return options?.Admins.Contains(user, StringComparer.OrdinalIgnoreCase) == true
                    ? await next(context)
                    : Problems.Result(403, "forbidden", "Administrators only", "this account is not in http.admins");
            });
        admin.MapGet("/", List).WithSummary("Every queued outbound message, by destination domain");
        admin.MapPost("/{domain}/retry", Retry).WithSummary("Try a domain's queued mail now (one entry with ?id=)");
        admin.MapDelete("/{domain}/{id}", Delete).WithSummary("Drop a queued message: no delivery, no bounce");
    }

    private static async Task<IResult> List(OutboundClient outbound, ActorSystem system, CancellationToken ct)
    {
        var lists = new List<OutboundList>();
        foreach (var domain in await OutboundClient.DomainsAsync(system, ct))
        {
            var list = await outbound.ListAsync(domain, ct);
            if (list.Entries.Count > 0) lists.Add(list);
        }
        return TypedResults.Ok(new QueueResponse(lists.Select(l => new QueueDomainDto(l.Domain, l.Entries)).ToList()));
    }

    private static async Task<IResult> Retry(string domain, OutboundClient outbound, CancellationToken ct, string? id = null) =>
        TypedResults.Ok(new QueueUpdateResponse((await outbound.RetryAsync(domain, id, ct)).Count));

    private static async Task<IResult> Delete(string domain, string id, OutboundClient outbound, CancellationToken ct) =>
        (await outbound.DeleteAsync(domain, id, ct)).Count == 0 ? Problems.NotFound("queue entry") : TypedResults.NoContent();
}

public sealed record QueueDomainDto(string Domain, IReadOnlyList<OutboundEntryInfo> Entries);

public sealed record QueueResponse(IReadOnlyList<QueueDomainDto> Domains);

public sealed record QueueUpdateResponse(int Rescheduled);
