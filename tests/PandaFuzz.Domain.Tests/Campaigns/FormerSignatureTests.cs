using System.Collections.Immutable;
using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Testing.Samples;
using static PandaFuzz.Protocol.CampaignEvents;

namespace PandaFuzz.Domain.Tests.Campaigns;

/// <summary>
/// Events and snapshots of a release whose signatures counted the access size: re-keyed as they are read, so the
/// crashes they split become one, and the ids they had still answer.
/// </summary>
public sealed class FormerSignatureTests
{
    private const string State = "handle_record\nparse_packet";

    /// <summary>A CrashReported event as the earlier release wrote it: the signature over the kind with its size.</summary>
    private static CrashReported OldEvent(int size, int index, bool withOutput = true)
    {
        var kind = $"Heap-buffer-overflow WRITE {size}";
        var signature = CrashIdentity.SizedSignature(kind, State);
        var input = BlobId.Of(System.Text.Encoding.UTF8.GetBytes($"old-input-{index}"));
        var finding = new CrashFinding(input, 8, $"crash-{input.Sha256[..40]}", kind, withOutput ? "SUMMARY" : "",
            withOutput ? ["#0 __asan_memcpy", "#1 handle_record /tmp/prev/target.c:57", "#2 parse_packet /tmp/prev/target.c:80"] : [],
            withOutput ? "report" : "", T0.AddSeconds(index), signature, State, true, 3, 3);
        return new CrashReported(Campaign, new CrashRecord(CrashId.ForSignature(Campaign, signature), Campaign, Job(0), BotA, finding), true, T0.AddSeconds(index));
    }

    private static CampaignState Replayed(IEnumerable<IPersistedEvent> events) =>
        events.Aggregate(CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(), T0)), (s, e) => s.Apply(e));

    [Fact]
    public void Size_split_crashes_of_an_old_journal_are_one_crash_after_replay()
    {
        var state = Replayed([OldEvent(3, 0), OldEvent(2, 1), OldEvent(16, 2), OldEvent(3, 3, withOutput: false)]);

        var crash = state.UniqueCrashes.Should().ContainSingle().Subject;
        crash.Signature.Should().Be(CrashIdentity.Signature("Heap-buffer-overflow WRITE", State));
        crash.Count.Should().Be(4);
        crash.AccessSizeRange.Should().Be("2–16");
        crash.First.Finding.Output.Should().Be("report", "the first report keeps its output");
        state.Bugs().Should().ContainSingle();
    }

    [Fact]
    public void Old_crash_ids_answer_with_the_crash_they_became_part_of()
    {
        var events = new[] { OldEvent(3, 0), OldEvent(9, 1) };
        var state = Replayed(events);

        foreach (var e in events)
        {
            state.FindCrash(e.Crash.Id).Should().NotBeNull().And.BeSameAs(state.UniqueCrashes.Single());
        }
    }

    [Fact]
    public void An_old_minimization_lands_on_the_crash_its_signature_became()
    {
        var reported = OldEvent(9, 0);
        var minimized = new CrashMinimized(Campaign, reported.Crash.Finding.Signature!,
            new CrashMinimization(Job(3), CrashInput, 4, null, T0.AddMinutes(1)), T0.AddMinutes(1));

        var state = Replayed([reported, minimized]);

        state.UniqueCrashes.Single().Minimization!.Input.Should().Be(CrashInput);
    }

    [Fact]
    public void A_snapshot_with_size_split_crashes_is_merged_when_loaded()
    {
        // An earlier release's snapshot: two unique crashes kept under their sized signatures.
        var split = Replayed([]) with
        {
            Crashes = ImmutableDictionary<string, UniqueCrash>.Empty
                .Add(OldEvent(3, 0).Crash.Finding.Signature!, Unique(OldEvent(3, 0), count: 5, minimized: false))
                .Add(OldEvent(2, 1).Crash.Finding.Signature!, Unique(OldEvent(2, 1), count: 2, minimized: true)),
        };

        var merged = split.Rekeyed();

        var crash = merged.UniqueCrashes.Should().ContainSingle().Subject;
        crash.Count.Should().Be(7);
        crash.FirstSeen.Should().Be(T0);
        crash.Minimization!.Input.Should().Be(CrashInput, "the merged crash keeps the minimization that succeeded");
        crash.AccessSizeRange.Should().Be("2–3");
        merged.FindCrash(OldEvent(2, 1).Crash.Id).Should().BeSameAs(crash);
        merged.Rekeyed().Should().BeSameAs(merged, "a current state is left as it is");
    }

    [Fact]
    public void A_finding_of_this_release_keeps_the_signature_it_was_sent_with()
    {
        var finding = Finding(CrashInput, T0);

        finding.SignatureOrFallback.Should().Be(Signature);
        finding.FormerSignature.Should().BeNull();
    }

    private static UniqueCrash Unique(CrashReported e, long count, bool minimized)
    {
        var signature = e.Crash.Finding.Signature!;
        return new UniqueCrash(CrashId.ForSignature(Campaign, signature), signature, e.Crash.Finding.Kind, State, true, count, e.At, e.At,
            [Job(0)], [BotA], e.Crash, [e.Crash.Finding.Input], 3 * count, 3 * count,
            minimized ? new CrashMinimization(Job(4), CrashInput, 4, null, e.At) : new CrashMinimization(Job(5), null, null, "crashes differently", e.At));
    }
}
