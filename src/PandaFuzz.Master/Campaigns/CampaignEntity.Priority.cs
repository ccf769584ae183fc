using Akka.Actor;
using Akka.Event;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignCommands;

namespace PandaFuzz.Master.Campaigns;

/// <summary>A campaign's priority: changed through the API, and told to the scheduler, which keeps it in memory only.</summary>
public sealed partial class CampaignEntity
{
    private void ReceivePriorityCommands()
    {
        Command<SetCampaignPriority>(set => WhenExists(state => Decide(state.SetPriority(set.Priority, Now), Apply,
            sender =>
            {
                Log.Info("Campaign {CampaignId} has priority {Priority}", state.Id, _state!.CurrentSpec.Priority);
                TellPriority(always: true);
                sender.Tell(View(_state!));
            },
            (sender, reason) => sender.Tell(new CommandRejected(reason, set.Priority is < 1 or > CampaignSpec.MaxPriority ? RejectionKind.Invalid : RejectionKind.Conflict)))));
    }

    /// <summary>
    /// The scheduler holds priorities in memory only: told before the jobs announce themselves, and again whenever a
    /// restarted scheduler relearns the queue. The default is told only when it replaces another.
    /// </summary>
    private void TellPriority(bool always = false)
    {
        if (_state is { Status: CampaignStatus.Running } state && (always || state.CurrentSpec.Priority != CampaignSpec.DefaultPriority))
        {
            _scheduler.Tell(new SchedulerMessages.CampaignPriority(state.Id, state.CurrentSpec.Priority));
        }
    }
}
