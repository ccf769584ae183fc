using Akka.Actor;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;
using static PandaFuzz.Protocol.JobCommands;
using static PandaFuzz.Protocol.JobQueries;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// A running campaign moved to a new build of its target: its running job is stopped on its bot, its pending job never
/// runs, and jobs on the new build take their place for the time they had left, also after a master restart.
/// </summary>
public sealed class CampaignRebaseTests(ITestOutputHelper output) : MasterTestKit(output)
{
    private static readonly BotId BotA = new("bot-a");
    private static readonly BotId BotB = new("bot-b");
    private static readonly BlobId Build2 = BlobId.Of("build 2 of the fuzz target"u8);

    [Fact]
    public async Task The_unfinished_jobs_go_on_on_the_new_build_for_the_time_they_had_left()
    {
        // Arrange: a campaign of two one-hour jobs on build 1; job 0 runs, job 1 waits.
        var master = await StartMasterAsync(TestData.Settings);
        var campaignId = CampaignId.New();
        var spec = TestData.Spec(jobs: 2) with { TargetName = "parser", Build = 1 };
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, spec));
        master.Scheduler.ExpectMsg<JobPending>();
        master.Scheduler.ExpectMsg<JobPending>();
        var (job0, job1) = (JobId.For(campaignId, 0), JobId.For(campaignId, 1));
        var agentA = CreateTestProbe(master.System, "agent-a");
        master.Jobs.Tell(new AssignJob(job0, BotA, master.PathOf(agentA.Ref)), master.Scheduler.Ref);
        agentA.ExpectMsg<AgentCommands.StartJob>();
        master.Jobs.Tell(new ConfirmJobStarted(job0, BotA, DateTimeOffset.UtcNow), agentA.Ref);
        var running = await AskFor<JobView>(master.Jobs, new GetJob(job0));
        running.Status.Should().Be(JobStatus.Running);

        // Act: the gateway gives each started job's start time, from the job entities (here: ten minutes ago).
        var rebased = await AskFor<CampaignView>(master.Campaigns, new RebaseCampaign(campaignId, 2,
            [new EngineTarget(EngineNames.LibFuzzer, Build2)], new Dictionary<string, DateTimeOffset> { [job0.Value] = DateTimeOffset.UtcNow.AddMinutes(-10) }));

        // Assert: the campaign fuzzes build 2 with two new jobs; the running job is stopped on its bot, the waiting one cancelled.
        rebased.Spec.Build.Should().Be(2);
        rebased.Spec.Target.Should().Be(Build2);
        rebased.JobIds.Should().HaveCount(4);
        agentA.FishForMessage<AgentCommands.StopJob>(m => m.JobId == job0);
        await AwaitAssertAsync(async () => (await AskFor<JobView>(master.Jobs, new GetJob(job1))).Status.Should().Be(JobStatus.Cancelled),
            TimeSpan.FromSeconds(20));
        var (job2, job3) = (JobId.For(campaignId, 2), JobId.For(campaignId, 3));
        var pending = new HashSet<JobId>();
        master.Scheduler.FishForMessage(m =>
        {
            if (m is JobPending p)
            {
                pending.Add(p.JobId);
            }

            return pending.SetEquals([job2, job3]);
        }, TimeSpan.FromSeconds(20));

        var agentB = CreateTestProbe(master.System, "agent-b");
        master.Jobs.Tell(new AssignJob(job2, BotB, master.PathOf(agentB.Ref)), master.Scheduler.Ref);
        var start = agentB.ExpectMsg<AgentCommands.StartJob>();
        start.Spec.Target.Should().Be(Build2);
        start.Spec.TargetName.Should().Be("parser");
        start.Spec.DurationSeconds.Should().BeInRange(2990, 3000, "job 0 had 50 of its 60 minutes left");
        master.Jobs.Tell(new AssignJob(job3, BotB, master.PathOf(agentB.Ref)), master.Scheduler.Ref);
        agentB.ExpectMsg<AgentCommands.StartJob>().Spec.DurationSeconds.Should().Be(3600, "job 1 had not started");

        // Act + assert: after a restart the campaign still fuzzes build 2, and the replaced jobs stay cancelled.
        master.Jobs.Tell(new ReportJobFinished(job0, BotA, Succeeded: true, FailureReason: null, TestData.Stats(1000)), agentA.Ref);
        var restarted = await RestartAsync(master);
        var view = await AskFor<CampaignView>(restarted.Campaigns, new GetCampaign(campaignId));
        view.Spec.Build.Should().Be(2);
        view.Status.Should().Be(CampaignStatus.Running);
        (await AskFor<JobView>(restarted.Jobs, new GetJob(job1))).Status.Should().Be(JobStatus.Cancelled);
        (await AskFor<JobView>(restarted.Jobs, new GetJob(job2))).Status.Should().Be(JobStatus.Assigned);

        // The same build again changes nothing.
        var again = await AskFor<CampaignView>(restarted.Campaigns, new RebaseCampaign(campaignId, 2,
            [new EngineTarget(EngineNames.LibFuzzer, Build2)], new Dictionary<string, DateTimeOffset>()));
        again.JobIds.Should().HaveCount(4);
    }
}
