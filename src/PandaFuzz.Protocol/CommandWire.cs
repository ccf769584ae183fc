using System.Text.Json;
using System.Text.Json.Serialization;

namespace PandaFuzz.Protocol;

/// <summary>Wire format between <c>pandafuzz-cmd</c> and a node's command host: UTF-8 JSON, one object per line; a
/// <see cref="CommandRequest"/> is answered with frames until <c>exit</c>, or streamed until the client hangs up.</summary>
public static class CommandWire
{
    public const int DefaultPort = 9110;

    /// <summary>The largest file a command may carry (the master's own limit on targets may be lower).</summary>
    public const long MaxUploadBytes = 1L << 30;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>A command as typed, split into arguments; <paramref name="Json"/> asks for data frames (<c>--json</c>).
/// <paramref name="UploadBytes"/>: that many bytes of a file follow the request's line (<c>ci</c>'s binary).</summary>
public sealed record CommandRequest(IReadOnlyList<string> Args, string? Token = null, bool Json = false, long? UploadBytes = null);

/// <summary>One piece of an answer: <c>out</c> text; <c>refresh</c> replaces the previous refresh; <c>json</c> a result;
/// <c>file</c> bytes for the operator's <c>-o</c> file; <c>exit</c> the exit code, always last.</summary>
public sealed record CommandFrame(string Kind, string? Text = null, int? Code = null, string? Path = null, string? Base64 = null, JsonElement? Data = null)
{
    public static CommandFrame Out(string text) => new("out", text);

    public static CommandFrame Refresh(string text) => new("refresh", text);

    public static CommandFrame Exit(int code) => new("exit", Code: code);
}
