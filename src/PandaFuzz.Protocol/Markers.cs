namespace PandaFuzz.Protocol;

/// <summary>Every message and event the project's own serializer carries.</summary>
public interface IProtocolMessage;

/// <summary>Routes a message to its campaign entity.</summary>
public interface IWithCampaignId : IProtocolMessage
{
    CampaignId CampaignId { get; }
}

/// <summary>Routes a message to its job entity.</summary>
public interface IWithJobId : IProtocolMessage
{
    JobId JobId { get; }
}

/// <summary>Routes a message to its bot entity.</summary>
public interface IWithBotId : IProtocolMessage
{
    BotId BotId { get; }
}

/// <summary>A persisted event; stored through the string-manifest serializer.</summary>
public interface IPersistedEvent : IProtocolMessage
{
    DateTimeOffset At { get; }
}

/// <summary>A command refused by its entity, with a reason and an error kind the edge maps to a status.</summary>
public sealed record CommandRejected(string Reason, RejectionKind Kind) : IProtocolMessage;

/// <summary>Why a command was refused.</summary>
public enum RejectionKind
{
    Invalid,
    NotFound,
    Conflict,
}

/// <summary>A plain acknowledgement.</summary>
public sealed record Ack : IProtocolMessage
{
    public static readonly Ack Instance = new();
}
