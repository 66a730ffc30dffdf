using MailActors.Core;
using MailActors.Core.Outbound;
using Xunit;

namespace MailActors.Core.Tests;

public sealed class OutboundQueueStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetryPolicy Policy = new() { First = TimeSpan.FromMinutes(1), Factor = 2, Max = TimeSpan.FromHours(1), GiveUpAfter = TimeSpan.FromDays(5) };

    private static OutboundMessage Message(params string[] recipients) =>
        new("q1", "alice@localhost", recipients, BlobId.Of([1, 2, 3]), 3, T0, T0 + Policy.GiveUpAfter);

    private static OutboundQueueState Queued(params string[] recipients)
    {
        var state = new OutboundQueueState();
        state.Apply(state.DecideEnqueue(new EnqueueOutbound("example.org", Message(recipients)))!);
        return state;
    }

    private static RecipientAttempt R(string rcpt, AttemptOutcome outcome, string reply = "") => new(rcpt, outcome, reply);

    [Fact]
    public void Enqueue_is_idempotent_by_queue_id_and_due_at_once()
    {
        var state = Queued("b@example.org");
        Assert.Null(state.DecideEnqueue(new EnqueueOutbound("example.org", Message("b@example.org"))));
        Assert.Single(state.Due(T0));
    }

    [Fact]
    public void Temporary_failures_back_off_exponentially_and_delivered_recipients_leave()
    {
        var state = Queued("b@example.org", "c@example.org");
        var first = state.DecideAttempt("q1", [R("b@example.org", AttemptOutcome.Delivered), R("c@example.org", AttemptOutcome.TemporaryFailure, "451 later")], T0, Policy)!;
        state.Apply(first);
        Assert.Equal(T0.AddMinutes(1), first.NextAttemptAt);
        Assert.Equal(["c@example.org"], state.Find("q1")!.Pending);
        Assert.Empty(state.Due(T0.AddSeconds(59)));

        var second = state.DecideAttempt("q1", [R("c@example.org", AttemptOutcome.TemporaryFailure, "451 later")], T0.AddMinutes(1), Policy)!;
        state.Apply(second);
        Assert.Equal(T0.AddMinutes(3), second.NextAttemptAt);

        state.Apply(state.DecideAttempt("q1", [R("c@example.org", AttemptOutcome.Delivered)], T0.AddMinutes(3), Policy)!);
        Assert.Equal(0, state.Count);
    }

    [Fact]
    public void Permanent_failures_wait_for_their_bounce_before_the_entry_goes()
    {
        var state = Queued("b@example.org");
        state.Apply(state.DecideAttempt("q1", [R("b@example.org", AttemptOutcome.PermanentFailure, "550 5.1.1 unknown")], T0, Policy)!);
        var entry = Assert.Single(state.AwaitingBounce);
        Assert.Equal("550 5.1.1 unknown", entry.ToBounce["b@example.org"].Reply);
        Assert.Null(state.NextDue);
        state.Apply(new OutboundBounced("q1", ["b@example.org"]));
        Assert.Equal(0, state.Count);
    }

    [Fact]
    public void A_recipient_the_transport_did_not_report_is_a_temporary_failure()
    {
        var state = Queued("b@example.org", "c@example.org");
        var attempt = state.DecideAttempt("q1", [R("B@Example.org", AttemptOutcome.Delivered)], T0, Policy)!;
        Assert.Equal(AttemptOutcome.Delivered, attempt.Results.Single(r => r.Recipient == "b@example.org").Outcome);
        Assert.Equal(AttemptOutcome.TemporaryFailure, attempt.Results.Single(r => r.Recipient == "c@example.org").Outcome);
    }

    [Fact]
    public void After_the_give_up_time_temporary_failures_become_bounces_with_the_last_reply()
    {
        var state = Queued("b@example.org");
        var late = T0 + Policy.GiveUpAfter - TimeSpan.FromMinutes(1);
        var attempt = state.DecideAttempt("q1", [R("b@example.org", AttemptOutcome.TemporaryFailure, "451 4.7.1 greylisted")], late, Policy)!;
        var result = Assert.Single(attempt.Results);
        Assert.Equal(AttemptOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("451 4.7.1 greylisted", result.Reply);
        Assert.Contains("gave up", result.Reply);
    }

    [Fact]
    public void Snapshot_round_trip_keeps_pending_bounces_and_schedule()
    {
        var state = Queued("b@example.org", "c@example.org");
        state.Apply(state.DecideAttempt("q1", [R("b@example.org", AttemptOutcome.PermanentFailure, "550 no"), R("c@example.org", AttemptOutcome.TemporaryFailure, "451")], T0, Policy)!);
        var copy = OutboundQueueState.FromSnapshot(state.ToSnapshot());
        var entry = copy.Find("q1")!;
        Assert.Equal(["c@example.org"], entry.Pending);
        Assert.Equal(["b@example.org"], entry.ToBounce.Keys);
        Assert.Equal((1, T0.AddMinutes(1)), (entry.Attempts, entry.NextAttemptAt));
    }

    [Fact]
    public void Backoff_is_capped()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), Policy.Delay(1));
        Assert.Equal(TimeSpan.FromMinutes(32), Policy.Delay(6));
        Assert.Equal(TimeSpan.FromHours(1), Policy.Delay(30));
    }
}
