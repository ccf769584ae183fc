using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace PandaFuzz.Protocol;

/// <summary>Identifies a campaign: 12 lowercase hex characters.</summary>
public sealed partial record CampaignId(string Value)
{
    public static CampaignId New() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));

    /// <summary>The same key always names the same campaign, so a retried submit never creates two.</summary>
    public static CampaignId ForIdempotencyKey(string key) =>
        new(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("pandafuzz campaign idempotency key\n" + key)).AsSpan(0, 6)));

    public static bool TryParse(string? text, out CampaignId id)
    {
        id = new CampaignId(text ?? "");
        return text is not null && Shape().IsMatch(text);
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[0-9a-f]{12}\\z")]
    private static partial Regex Shape();
}

/// <summary>Identifies a job: its campaign's id and its index, "3f2a9c1b0d4e-0".</summary>
public sealed partial record JobId(string Value)
{
    public static JobId For(CampaignId campaign, int index) => new($"{campaign.Value}-{index}");

    public static bool TryParse(string? text, out JobId id)
    {
        id = new JobId(text ?? "");
        return text is not null && Shape().IsMatch(text);
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[0-9a-f]{12}-[0-9]{1,5}\\z")]
    private static partial Regex Shape();
}

/// <summary>Identifies a bot; chosen once by the bot and kept in its data dir.</summary>
public sealed partial record BotId(string Value)
{
    public static BotId New() => new("bot-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5)));

    public static bool TryParse(string? text, out BotId id)
    {
        id = new BotId(text ?? "");
        return text is not null && Shape().IsMatch(text);
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\\z")]
    private static partial Regex Shape();
}

/// <summary>A content address: the lowercase hex sha256 of a blob's bytes.</summary>
public sealed partial record BlobId(string Sha256)
{
    public static BlobId Of(ReadOnlySpan<byte> bytes) => new(Convert.ToHexStringLower(SHA256.HashData(bytes)));

    public static bool TryParse(string? text, out BlobId id)
    {
        id = new BlobId(text ?? "");
        return text is not null && Shape().IsMatch(text);
    }

    public override string ToString() => Sha256;

    [GeneratedRegex("^[0-9a-f]{64}\\z")]
    private static partial Regex Shape();
}

/// <summary>A crash within its campaign, by the input's sha256 prefix, so the same input delivered twice names the same crash.</summary>
public sealed partial record CrashId(string Value)
{
    public static CrashId For(CampaignId campaign, BlobId input) => new($"{campaign.Value}-{input.Sha256[..16]}");

    public static CrashId ForSignature(CampaignId campaign, string signature) => new($"{campaign.Value}-{signature}");

    public CampaignId Campaign => new(Value[..12]);

    public static bool TryParse(string? text, out CrashId id)
    {
        id = new CrashId(text ?? "");
        return text is not null && Shape().IsMatch(text);
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[0-9a-f]{12}-[0-9a-f]{16}\\z")]
    private static partial Regex Shape();
}

/// <summary>A bug group: the campaign and its leader's signature; any member's signature in its place finds the same group.</summary>
public sealed partial record BugId(string Value)
{
    public static BugId ForLeader(CampaignId campaign, string signature) => new($"{campaign.Value}-bug-{signature}");

    public CampaignId Campaign => new(Value[..12]);

    public string Signature => Value[(Value.LastIndexOf('-') + 1)..];

    public static bool TryParse(string? text, out BugId id)
    {
        id = new BugId(text ?? "");
        return text is not null && Shape().IsMatch(text);
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[0-9a-f]{12}-bug-[0-9a-f]{16}\\z")]
    private static partial Regex Shape();
}
