using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using MailActors.Cluster;
using MailActors.Core;
using MailActors.Gateway.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace MailActors.Gateway.Auth;

public static class AuthEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        var auth = v1.MapGroup("/auth").WithTags("Accounts and sessions");
        auth.MapPost("/signup", Signup).AllowAnonymous()
            .WithSummary("Create an account on one of this system's domains");
        auth.MapPost("/login", Login).AllowAnonymous()
            .WithSummary("Exchange address and password for a session token (also set as HttpOnly cookie)");
        auth.MapPost("/logout", Logout).RequireAuthorization()
            .WithSummary("End the current session");
        v1.MapGet("/account", Account).RequireAuthorization().WithTags("Accounts and sessions")
            .WithSummary("The signed-in account and its quota");
    }

    private static async Task<IResult> Signup(Credentials body, HttpContext http, MailboxClient mailboxes, MailActorsOptions cluster, GatewayOptions options,
        LoginThrottle throttle, GatewayMetrics metrics, ILoggerFactory logs, CancellationToken ct)
    {
        if (!options.SignupEnabled)
            return Problems.Result(403, "signup-disabled", "Sign-up disabled", "this server does not accept sign-ups; ask an administrator for an account");
        if (throttle.TryAcquireSignup(http.Connection.RemoteIpAddress) is { } wait)
        {
            logs.CreateLogger("MailActors.Gateway.Auth").LogWarning("sign-up from {Ip} throttled", http.Connection.RemoteIpAddress);
            return TooMany(http, wait, "too many sign-ups from this address");
        }
        if (!MailboxId.TryParse(body.Address, out var mailbox, out var error)) return Problems.Invalid(error);
        if (!cluster.IsLocalDomain(mailbox.Domain))
            return Problems.Result(400, "foreign-domain", "Not a local domain",
                $"accounts can be created on {string.Join(", ", cluster.LocalDomains)} only");
        if (PasswordHasher.CheckPolicy(body.Password ?? "") is { } policy)
            return Problems.Result(400, "weak-password", "Password not accepted", policy);
        try
        {
            var account = await mailboxes.RegisterAsync(mailbox.Value, body.Password!, ct: ct);
            metrics.Signups.Add(1);
            logs.CreateLogger("MailActors.Gateway.Auth").LogInformation("account {Address} signed up", mailbox);
            return TypedResults.Created("/v1/account", new SignupResponse(mailbox.Value, account.CreatedAt));
        }
        catch (MailboxException e) when (e.Code == MailboxErrorCode.AlreadyExists)
        {
            return Problems.Result(409, "already-exists", "Address taken", $"{mailbox} already has an account");
        }
    }

    private static async Task<IResult> Login(Credentials body, HttpContext http, MailboxClient mailboxes, GatewayOptions options,
        LoginThrottle throttle, GatewayMetrics metrics, TimeProvider clock, ILoggerFactory logs, CancellationToken ct)
    {
        var log = logs.CreateLogger("MailActors.Gateway.Auth");
        var ip = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.TryAcquire(http.Connection.RemoteIpAddress, body.Address ?? "") is { } wait)
        {
            metrics.Logins.Add(1, new KeyValuePair<string, object?>("outcome", "throttled"));
            log.LogWarning("login for {Address} from {Ip} throttled", body.Address, ip);
            return TooMany(http, wait, "too many login attempts");
        }
        var account = await mailboxes.AuthenticateAsync(body.Address ?? "", body.Password ?? "", ct);
        if (account is null)
        {
            metrics.Logins.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            log.LogInformation("failed login for {Address} from {Ip}", body.Address, ip);
            return Problems.Result(401, "invalid-credentials", "Login failed", "wrong address or password");
        }

        var (token, hash) = SessionTokens.Create(account.Mailbox);
        var expires = clock.GetUtcNow() + options.SessionLifetime;
        var client = $"{http.Request.Headers.UserAgent} from {ip}";
        await mailboxes.SendExpectingAsync<SessionInfo>(new OpenSession(account.Mailbox, hash, expires, client), ct);
        metrics.Logins.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));

        var csrf = SessionAuthenticationHandler.CsrfTokenFor(hash);
        var secure = http.Request.IsHttps;
        http.Response.Cookies.Append(SessionAuthenticationHandler.SessionCookie, token, new CookieOptions
        {
            HttpOnly = true, Secure = secure, SameSite = SameSiteMode.Strict, Path = "/", Expires = expires,
        });
        http.Response.Cookies.Append(SessionAuthenticationHandler.CsrfCookie, csrf, new CookieOptions
        {
            HttpOnly = false, Secure = secure, SameSite = SameSiteMode.Strict, Path = "/", Expires = expires,
        });
        return TypedResults.Ok(new LoginResponse(token, account.Mailbox.Value, expires, csrf));
    }

    private static async Task<IResult> Logout(HttpContext http, MailboxClient mailboxes, SessionAuthenticator sessions, ActorSystem system, CancellationToken ct)
    {
        var hash = http.User.SessionHash();
        await mailboxes.SendExpectingAsync<Done>(new CloseSession(http.User.Mailbox(), hash), ct);
        sessions.Evict(hash);
        // Other gateway nodes drop their cached check too (they would within 30 s anyway).
        DistributedPubSub.Get(system).Mediator.Tell(new Publish(Realtime.EventHub.RevocationTopic, new SessionClosed(hash)));
        http.Response.Cookies.Delete(SessionAuthenticationHandler.SessionCookie);
        http.Response.Cookies.Delete(SessionAuthenticationHandler.CsrfCookie);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> Account(HttpContext http, MailboxClient mailboxes, CancellationToken ct)
    {
        var a = await mailboxes.GetAccountAsync(http.User.Address(), ct);
        return TypedResults.Ok(new AccountDto(a.Mailbox.Value, a.DisplayName, a.QuotaBytes, a.UsedBytes, a.MessageCount));
    }

    private static IResult TooMany(HttpContext http, TimeSpan wait, string what)
    {
        var seconds = Math.Max(1, Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString("0");
        return Problems.Result(429, "too-many-attempts", "Too many attempts", $"{what}; try again in {seconds:0} s");
    }

}
