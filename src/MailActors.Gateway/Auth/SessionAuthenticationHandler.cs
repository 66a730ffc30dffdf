using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using MailActors.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MailActors.Gateway.Auth;

/// <summary>
/// The "Session" scheme: a token from <c>Authorization: Bearer</c>, or from the HttpOnly
/// session cookie a browser got at login. Cookie-authenticated requests that change state must
/// send the session's CSRF token in <c>X-CSRF-Token</c> (derived from the session, so a cookie
/// planted by a sibling subdomain can't match; the cookies are SameSite=Strict too), and a
/// cookie-authenticated WebSocket must come from this origin, so another site can't make a
/// logged-in browser act or listen.
/// </summary>
public sealed class SessionAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    SessionAuthenticator sessions) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Session";
    public const string SessionCookie = "ma_session";
    public const string CsrfCookie = "ma_csrf";
    public const string CsrfHeader = "X-CSRF-Token";
    public const string MailboxClaim = "mailbox";
    public const string SessionClaim = "session";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (token, viaCookie) = FindToken(Request);
        if (token is null) return AuthenticateResult.NoResult();
        var principal = await sessions.ValidateAsync(token, Context.RequestAborted);
        if (principal is null) return AuthenticateResult.Fail("the session is invalid, expired or ended");
        if (viaCookie && !HttpMethods.IsGet(Request.Method) && !HttpMethods.IsHead(Request.Method) && !CsrfMatches(Request, principal.SessionHash))
            return AuthenticateResult.Fail($"a cookie session needs the {CsrfHeader} header for this request");
        if (viaCookie && Context.WebSockets.IsWebSocketRequest && !SameOrigin(Request))
            return AuthenticateResult.Fail("a cookie session can open a WebSocket from this site's own pages only");

        var identity = new ClaimsIdentity(
            [new Claim(MailboxClaim, principal.Mailbox.Value), new Claim(SessionClaim, principal.SessionHash)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message;
        await Problems.Write(Context, StatusCodes.Status401Unauthorized, "unauthorized",
            "Authentication required", failure ?? "log in and send the token as 'Authorization: Bearer <token>'");
    }

    private static (string? Token, bool ViaCookie) FindToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return (header[7..].Trim(), false);
        if (request.Cookies.TryGetValue(SessionCookie, out var cookie)) return (cookie, true);
        // Browsers can't set headers on a WebSocket handshake; allow the token in the query there only.
        if (request.Path.StartsWithSegments("/v1/events") && request.Query["access_token"] is [{ } query]) return (query, false);
        return (null, false);
    }

    /// <summary>The CSRF token of a session: public to the page (cookie <see cref="CsrfCookie"/>), useless without the session.</summary>
    public static string CsrfTokenFor(string sessionHash) =>
        System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes("csrf:" + sessionHash)));

    private static bool CsrfMatches(HttpRequest request, string sessionHash)
    {
        var header = request.Headers[CsrfHeader].ToString();
        return header.Length > 0
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes(CsrfTokenFor(sessionHash)));
    }

    private static bool SameOrigin(HttpRequest request) =>
        Uri.TryCreate(request.Headers.Origin.ToString(), UriKind.Absolute, out var origin)
        && string.Equals(origin.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
}

public static class UserExtensions
{
    /// <summary>The signed-in user's mailbox (endpoints run behind RequireAuthorization).</summary>
    public static MailboxId Mailbox(this ClaimsPrincipal user) =>
        MailboxId.FromNormalized(user.FindFirstValue(SessionAuthenticationHandler.MailboxClaim)
                                 ?? throw new InvalidOperationException("endpoint reached without authentication"));

    public static string Address(this ClaimsPrincipal user) => user.Mailbox().Value;

    public static string SessionHash(this ClaimsPrincipal user) =>
        user.FindFirstValue(SessionAuthenticationHandler.SessionClaim) ?? throw new InvalidOperationException("no session");
}
