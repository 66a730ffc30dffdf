using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MailActors.Gateway.Api;
using MailActors.Gateway.Auth;
using MailActors.Gateway.Tests.Infrastructure;
using Xunit;

namespace MailActors.Gateway.Tests;

public sealed class AuthTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private GatewayTestHost Host => fixture.Host;

    [Fact]
    public async Task Signup_then_login_gives_a_token_that_opens_the_account()
    {
        using var user = await Host.NewUserAsync("alice");
        var account = await user.Http.GetFromJsonAsync<AccountDto>("/v1/account");
        Assert.Equal(user.Address, account!.Address);
        Assert.Equal(0, account.MessageCount);
    }

    [Theory]
    [InlineData("short", "weak-password")]
    [InlineData("", "weak-password")]
    public async Task Signup_refuses_weak_passwords_with_a_problem(string password, string type)
    {
        var response = await Host.Client.PostAsJsonAsync("/v1/auth/signup", new { address = GatewayTestHost.NewAddress(), password });
        await AssertProblem(response, HttpStatusCode.BadRequest, type);
    }

    [Fact]
    public async Task Signup_refuses_foreign_domains_bad_addresses_and_taken_addresses()
    {
        await AssertProblem(await Host.Client.PostAsJsonAsync("/v1/auth/signup", new { address = "eve@elsewhere.test", password = GatewayTestHost.Password }),
            HttpStatusCode.BadRequest, "foreign-domain");
        await AssertProblem(await Host.Client.PostAsJsonAsync("/v1/auth/signup", new { address = "no-at-sign", password = GatewayTestHost.Password }),
            HttpStatusCode.BadRequest, "invalid-request");
        using var user = await Host.NewUserAsync();
        await AssertProblem(await Host.Client.PostAsJsonAsync("/v1/auth/signup", new { address = user.Address, password = GatewayTestHost.Password }),
            HttpStatusCode.Conflict, "already-exists");
    }

    [Fact]
    public async Task Malformed_json_is_a_400_problem_not_a_crash()
    {
        var response = await Host.Client.PostAsync("/v1/auth/login", new StringContent("{\"address\": ", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Wrong_password_and_unknown_user_get_the_same_401()
    {
        using var user = await Host.NewUserAsync();
        var wrong = await Host.Client.PostAsJsonAsync("/v1/auth/login", new { address = user.Address, password = "not the password" });
        var unknown = await Host.Client.PostAsJsonAsync("/v1/auth/login", new { address = GatewayTestHost.NewAddress(), password = "not the password" });
        var a = await AssertProblem(wrong, HttpStatusCode.Unauthorized, "invalid-credentials");
        var b = await AssertProblem(unknown, HttpStatusCode.Unauthorized, "invalid-credentials");
        Assert.Equal(a.GetProperty("detail").GetString(), b.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("garbage")]
    [InlineData("dXNlckBleGFtcGxlLnRlc3Q.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Calls_without_a_valid_token_are_401_problems(string? token)
    {
        using var client = Host.NewClient();
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await client.GetAsync("/v1/folders");
        await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Logout_revokes_the_token_at_once()
    {
        using var user = await Host.NewUserAsync();
        using var second = await Host.LoginAsync(user.Address);
        Assert.Equal(HttpStatusCode.OK, (await user.Http.GetAsync("/v1/folders")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await user.Http.PostAsync("/v1/auth/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.Http.GetAsync("/v1/folders")).StatusCode);
        // Only that session ended.
        Assert.Equal(HttpStatusCode.OK, (await second.Http.GetAsync("/v1/folders")).StatusCode);
    }

    [Fact]
    public async Task Login_attempts_against_one_account_are_throttled_with_429()
    {
        using var user = await Host.NewUserAsync();
        var options = GatewayTestHost.TestGatewayOptions;
        HttpResponseMessage? last = null;
        for (var i = 0; i <= options.LoginBurstPerAccount; i++)
            last = await Host.Client.PostAsJsonAsync("/v1/auth/login", new { address = user.Address, password = "wrong password!" });
        await AssertProblem(last!, HttpStatusCode.TooManyRequests, "too-many-attempts");
        Assert.NotNull(last!.Headers.RetryAfter);
        // Even the right password waits now: the throttle comes before the password check.
        var right = await Host.Client.PostAsJsonAsync("/v1/auth/login", new { address = user.Address, password = GatewayTestHost.Password });
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
    }

    [Fact]
    public void The_throttle_also_limits_one_client_address_across_accounts()
    {
        using var throttle = new LoginThrottle(new GatewayOptions { LoginBurstPerIp = 3 });
        var ip = IPAddress.Parse("10.0.0.1");
        Assert.Null(throttle.TryAcquire(ip, "a@x.test"));
        Assert.Null(throttle.TryAcquire(ip, "b@x.test"));
        Assert.Null(throttle.TryAcquire(ip, "c@x.test"));
        Assert.NotNull(throttle.TryAcquire(ip, "d@x.test"));
        Assert.Null(throttle.TryAcquire(IPAddress.Parse("10.0.0.2"), "d@x.test"));

        // One IPv6 subscriber (a /64) is one client, however many addresses it uses.
        Assert.Null(throttle.TryAcquire(IPAddress.Parse("2001:db8:1:2::1"), "e@x.test"));
        Assert.Null(throttle.TryAcquire(IPAddress.Parse("2001:db8:1:2::2"), "f@x.test"));
        Assert.Null(throttle.TryAcquire(IPAddress.Parse("2001:db8:1:2:ffff::3"), "g@x.test"));
        Assert.NotNull(throttle.TryAcquire(IPAddress.Parse("2001:db8:1:2::4"), "h@x.test"));
    }

    [Fact]
    public void Spelling_an_address_differently_does_not_get_a_fresh_account_bucket()
    {
        using var throttle = new LoginThrottle(new GatewayOptions { LoginBurstPerAccount = 2 });
        var ip = IPAddress.Parse("10.0.0.9");
        Assert.Null(throttle.TryAcquire(ip, "alice@x.test"));
        Assert.Null(throttle.TryAcquire(ip, " Alice@X.test"));
        Assert.NotNull(throttle.TryAcquire(ip, "ALICE@x.test  "));
    }

    [Fact]
    public async Task Signups_are_throttled_per_client_address()
    {
        await using var host = await GatewayTestHost.StartAsync(gateway: GatewayTestHost.TestGatewayOptions with { SignupBurstPerIp = 2 });
        for (var i = 0; i < 2; i++)
        {
            var ok = await host.Client.PostAsJsonAsync("/v1/auth/signup", new { address = GatewayTestHost.NewAddress(), password = GatewayTestHost.Password });
            Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        }
        var third = await host.Client.PostAsJsonAsync("/v1/auth/signup", new { address = GatewayTestHost.NewAddress(), password = GatewayTestHost.Password });
        await AssertProblem(third, HttpStatusCode.TooManyRequests, "too-many-attempts");
    }

    [Fact]
    public async Task A_cookie_session_needs_the_csrf_header_to_change_anything()
    {
        using var user = await Host.NewUserAsync();
        var login = await Host.Client.PostAsJsonAsync("/v1/auth/login", new { address = user.Address, password = GatewayTestHost.Password });
        var body = (await login.Content.ReadFromJsonAsync<LoginResponse>())!;
        var cookies = login.Headers.GetValues("Set-Cookie").ToList();
        var session = Assert.Single(cookies, c => c.StartsWith(SessionAuthenticationHandler.SessionCookie + "="));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);

        using var browser = Host.NewClient();
        browser.DefaultRequestHeaders.Add("Cookie", $"{SessionAuthenticationHandler.SessionCookie}={body.Token}; {SessionAuthenticationHandler.CsrfCookie}={body.CsrfToken}");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/v1/folders")).StatusCode);
        var forged = await browser.PostAsJsonAsync("/v1/folders", new { name = "Forged" });
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);

        // A token planted by a sibling site (cookie and header agreeing) doesn't match the session's.
        var planted = new HttpRequestMessage(HttpMethod.Post, "/v1/folders") { Content = JsonContent.Create(new { name = "Planted" }) };
        planted.Headers.Add(SessionAuthenticationHandler.CsrfHeader, "planted-value");
        planted.Headers.Add("Cookie", $"{SessionAuthenticationHandler.CsrfCookie}=planted-value");
        using var sibling = Host.NewClient();
        sibling.DefaultRequestHeaders.Add("Cookie", $"{SessionAuthenticationHandler.SessionCookie}={body.Token}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await sibling.SendAsync(planted)).StatusCode);

        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/folders") { Content = JsonContent.Create(new { name = "Real" }) };
        request.Headers.Add(SessionAuthenticationHandler.CsrfHeader, body.CsrfToken);
        Assert.Equal(HttpStatusCode.Created, (await browser.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Signup_can_be_disabled()
    {
        await using var closed = await GatewayTestHost.StartAsync(gateway: GatewayTestHost.TestGatewayOptions with { SignupEnabled = false });
        var response = await closed.Client.PostAsJsonAsync("/v1/auth/signup", new { address = GatewayTestHost.NewAddress(), password = GatewayTestHost.Password });
        await AssertProblem(response, HttpStatusCode.Forbidden, "signup-disabled");
    }

    internal static async Task<JsonElement> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Problems.TypeBase + type, problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
