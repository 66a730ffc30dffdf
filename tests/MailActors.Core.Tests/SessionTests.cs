using MailActors.Core;
using Xunit;
using static MailActors.Core.Tests.Fixtures;

namespace MailActors.Core.Tests;

public class SessionTests
{
    private const string Hash = "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"; // a SHA-256, base64url
    private static readonly DateTimeOffset Month = T0.AddDays(30);

    private static string H(int i) => $"session-{i:D3}";

    [Fact]
    public void A_session_is_opened_checked_and_closed()
    {
        var state = Registered();
        var opened = state.Run<SessionInfo>(new OpenSession(Alice, Hash, Month, "Firefox"));
        Assert.Equal(new SessionInfo(Hash, T0, Month, "Firefox"), opened);
        Assert.Equal(opened, state.Run<SessionInfo>(new CheckSession(Alice, Hash)));

        var close = state.Decide(new CloseSession(Alice, Hash), T0.AddHours(1));
        Assert.Equal(new SessionClosed(Hash), Assert.Single(close.Events));
        Assert.IsType<Done>(state.Run(new CloseSession(Alice, Hash)));
        Assert.Equal(MailboxErrorCode.NotFound, Assert.IsType<MailboxError>(state.Run(new CheckSession(Alice, Hash))).Code);
        Assert.Empty(state.Sessions);
    }

    [Fact]
    public void Closing_an_unknown_or_closed_session_is_done_without_events()
    {
        var state = Registered();
        state.Run<SessionInfo>(new OpenSession(Alice, Hash, Month, ""));
        state.Run<Done>(new CloseSession(Alice, Hash));
        foreach (var hash in new[] { Hash, "never-opened", "not a hash!" })
        {
            var again = state.Decide(new CloseSession(Alice, hash), T0);
            Assert.Empty(again.Events);
            Assert.IsType<Done>(again.Reply);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc=")]
    [InlineData("abc+def")]
    [InlineData("abc/def")]
    [InlineData("with space")]
    [InlineData("ünïcødé")]
    [InlineData("tab\there")]
    public void Malformed_session_hashes_are_invalid(string hash)
    {
        var state = Registered();
        var decision = state.Decide(new OpenSession(Alice, hash, Month, "x"), T0);
        Assert.Empty(decision.Events);
        Assert.Equal(MailboxErrorCode.Invalid, Assert.IsType<MailboxError>(decision.Reply).Code);
    }

    [Fact]
    public void Session_hashes_have_1_to_100_characters()
    {
        var state = Registered();
        Assert.IsType<SessionInfo>(state.Run(new OpenSession(Alice, "a", Month, "")));
        Assert.IsType<SessionInfo>(state.Run(new OpenSession(Alice, new string('Z', 100), Month, "")));
        var tooLong = state.Run(new OpenSession(Alice, new string('Z', 101), Month, ""));
        Assert.Equal(MailboxErrorCode.Invalid, Assert.IsType<MailboxError>(tooLong).Code);
        Assert.Equal(2, state.Sessions.Count);
    }

    [Fact]
    public void A_session_must_expire_after_now()
    {
        var state = Registered();
        foreach (var expiresAt in new[] { T0, T0.AddTicks(-1), T0.AddDays(-1) })
        {
            var decision = state.Decide(new OpenSession(Alice, Hash, expiresAt, ""), T0);
            Assert.Empty(decision.Events);
            Assert.Equal(MailboxErrorCode.Invalid, Assert.IsType<MailboxError>(decision.Reply).Code);
        }
        Assert.IsType<SessionInfo>(state.Run(new OpenSession(Alice, Hash, T0.AddTicks(1), "")));
    }

    [Fact]
    public void Reopening_an_open_session_is_refused()
    {
        var state = Registered();
        state.Run<SessionInfo>(new OpenSession(Alice, Hash, Month, "first"));
        var again = state.Decide(new OpenSession(Alice, Hash, Month.AddDays(1), "second"), T0.AddMinutes(1));
        Assert.Empty(again.Events);
        Assert.Equal(MailboxErrorCode.AlreadyExists, Assert.IsType<MailboxError>(again.Reply).Code);
        Assert.Equal("first", Assert.Single(state.Sessions).Client);
    }

    [Fact]
    public void Sessions_need_a_registered_mailbox()
    {
        var state = new MailboxState(Alice);
        var decision = state.Decide(new OpenSession(Alice, Hash, Month, ""), T0);
        Assert.Empty(decision.Events);
        Assert.Equal(MailboxErrorCode.NoSuchMailbox, Assert.IsType<MailboxError>(decision.Reply).Code);
        Assert.Equal(MailboxErrorCode.NoSuchMailbox, Assert.IsType<MailboxError>(state.Query(new CheckSession(Alice, Hash))).Code);
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("  Firefox 140  ", "Firefox 140")]
    [InlineData("Fire\u0000fox\r\n", "Firefox")]
    [InlineData("\u0085\u001b[31mred\u007f", "[31mred")]
    [InlineData("emoji \ud83d\ude00 kept", "emoji \ud83d\ude00 kept")]
    public void The_client_label_is_cleaned(string? client, string expected)
    {
        var state = Registered();
        Assert.Equal(expected, state.Run<SessionInfo>(new OpenSession(Alice, Hash, Month, client!)).Client);
        Assert.Equal(expected, Assert.Single(state.Sessions).Client);
    }

    [Fact]
    public void Lone_surrogates_in_the_client_label_are_replaced()
    {
        // Not as InlineData: attribute metadata can't carry a lone surrogate.
        var client = "high " + '\ud800' + " low " + '\udc00' + " end " + '\ud83d';
        var state = Registered();
        Assert.Equal("high \ufffd low \ufffd end \ufffd", state.Run<SessionInfo>(new OpenSession(Alice, Hash, Month, client)).Client);
    }

    [Fact]
    public void The_client_label_is_cut_without_splitting_a_character()
    {
        var state = Registered();
        var cut = state.Run<SessionInfo>(new OpenSession(Alice, H(1), Month, new string('a', 300))).Client;
        Assert.Equal(new string('a', OpenSession.MaxClientLength), cut);
        // An emoji straddling the limit goes whole rather than leaving half a surrogate pair.
        var straddling = new string('a', OpenSession.MaxClientLength - 1) + "\ud83d\ude00";
        Assert.Equal(new string('a', OpenSession.MaxClientLength - 1), state.Run<SessionInfo>(new OpenSession(Alice, H(2), Month, straddling)).Client);
    }

    [Fact]
    public void Opening_one_session_too_many_ends_the_oldest()
    {
        var state = Registered();
        for (var i = 0; i <= OpenSession.MaxSessions; i++)
            state.Run<SessionInfo>(new OpenSession(Alice, H(i), Month, ""), T0.AddMinutes(i));
        Assert.Equal(Enumerable.Range(1, OpenSession.MaxSessions).Select(H), state.Sessions.Select(s => s.SessionHash));
        Assert.IsType<MailboxError>(state.Run(new CheckSession(Alice, H(0))));
    }

    [Fact]
    public void Among_sessions_opened_at_the_same_time_the_first_opened_goes_first()
    {
        var state = Registered();
        for (var i = 0; i <= OpenSession.MaxSessions + 1; i++) state.Run<SessionInfo>(new OpenSession(Alice, H(i), Month, ""));
        Assert.Equal(Enumerable.Range(2, OpenSession.MaxSessions).Select(H), state.Sessions.Select(s => s.SessionHash));
    }

    [Fact]
    public void The_session_just_opened_survives_even_if_its_clock_lags()
    {
        // The mailbox moved to a node whose clock is behind: the new session is the "oldest".
        var state = Registered();
        for (var i = 0; i < OpenSession.MaxSessions; i++)
            state.Run<SessionInfo>(new OpenSession(Alice, H(i), Month, ""), T0.AddMinutes(10 + i));
        state.Run<SessionInfo>(new OpenSession(Alice, Hash, Month, ""), T0);
        Assert.IsType<SessionInfo>(state.Run(new CheckSession(Alice, Hash)));
        Assert.IsType<MailboxError>(state.Run(new CheckSession(Alice, H(0))));
        Assert.Equal(OpenSession.MaxSessions, state.Sessions.Count);
    }

    [Fact]
    public void Expired_sessions_are_dropped_when_a_later_session_opens()
    {
        var state = Registered();
        state.Run<SessionInfo>(new OpenSession(Alice, H(1), T0.AddHours(1), ""));
        state.Run<SessionInfo>(new OpenSession(Alice, H(2), T0.AddDays(10), ""));
        // Queries have no clock: an expired session is still reported, the caller checks ExpiresAt.
        Assert.Equal(T0.AddHours(1), state.Run<SessionInfo>(new CheckSession(Alice, H(1))).ExpiresAt);

        state.Run<SessionInfo>(new OpenSession(Alice, H(3), T0.AddDays(10), ""), T0.AddHours(2));
        Assert.Equal([H(2), H(3)], state.Sessions.Select(s => s.SessionHash));
    }

    [Fact]
    public void A_snapshot_keeps_sessions_exactly_and_in_order()
    {
        var state = Registered();
        var plus2 = TimeSpan.FromHours(2);
        // Sub-millisecond times and a non-UTC offset: the restored values must still be equal.
        state.Run<SessionInfo>(new OpenSession(Alice, H(1), Month.AddTicks(7).ToOffset(plus2), "Firefox"), T0.AddTicks(3));
        state.Run<SessionInfo>(new OpenSession(Alice, H(2), Month, "curl/8.5 ✓"), T0.AddMinutes(1).ToOffset(plus2));
        state.Run<SessionInfo>(new OpenSession(Alice, H(3), Month, ""), T0.AddMinutes(2));
        state.Run<Done>(new CloseSession(Alice, H(2)));

        var restored = MailboxState.FromSnapshot(state.ToSnapshot());

        Assert.Equal(state.Sessions, restored.Sessions);
        Assert.Equal(Describe(state), Describe(restored));
        Assert.Equal(state.Run(new CheckSession(Alice, H(1))), restored.Run(new CheckSession(Alice, H(1))));
    }

    [Fact]
    public void Replaying_the_events_later_gives_the_same_sessions()
    {
        var live = new MailboxState(Alice);
        var journal = new List<IMailboxEvent>();
        void Run(IMailboxCommand c, DateTimeOffset now)
        {
            var decision = live.Decide(c, now);
            foreach (var e in decision.Events)
            {
                live.Apply(e);
                journal.Add(e);
            }
        }

        Run(new RegisterMailbox(Alice, "hash", "Alice", 1000), T0);
        for (var i = 0; i < 30; i++)
        {
            // Some short-lived sessions (expire before later opens), some long, some logouts.
            var expires = i % 3 == 0 ? T0.AddMinutes(i + 5) : Month;
            Run(new OpenSession(Alice, H(i), expires, $"client {i}"), T0.AddMinutes(i * 2));
            if (i % 4 == 1) Run(new CloseSession(Alice, H(i - 1)), T0.AddMinutes(i * 2 + 1));
        }

        var replayed = new MailboxState(Alice);
        foreach (var e in journal) replayed.Apply(e);

        Assert.NotEmpty(live.Sessions);
        Assert.Equal(Describe(live), Describe(replayed));
        Assert.Equal(Describe(live), Describe(MailboxState.FromSnapshot(live.ToSnapshot())));
    }

    private static string Describe(MailboxState s) => string.Join('\n', s.Sessions.Select(x => $"{x} {x.CreatedAt.UtcTicks} {x.ExpiresAt.UtcTicks} {x.ExpiresAt.Offset}"));
}
