using System.Text.Json;
using System.Text.Json.Serialization;

namespace PandaFuzz.Protocol;

/// <summary>
/// The operator command line's wire format between <c>pandafuzz-cmd</c> and a node's command host: UTF-8 JSON, one
/// object per line. The client sends one <see cref="CommandRequest"/>; the host answers with frames until an
/// <c>exit</c> frame, or streams (<c>cluster tail</c>, <c>log tail</c>, <c>campaign watch</c>) until the client hangs up.
/// </summary>
public static class CommandWire
{
    public const int DefaultPort = 9110;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>A command as the operator typed it, split into arguments (<c>["cluster", "show"]</c>).</summary>
/// <param name="Json">The operator asked for JSON output (<c>--json</c>): data frames of results instead of text.</param>
public sealed record CommandRequest(IReadOnlyList<string> Args, string? Token = null, bool Json = false);

/// <summary>
/// One piece of a command's answer. <c>out</c>: text to print; <c>refresh</c>: text that replaces the previous
/// refresh (a live view); <c>json</c>: a result for scripts; <c>file</c>: bytes for the file the operator named with
/// <c>-o</c>; <c>exit</c>: the command's exit code, the last frame.
/// </summary>
public sealed record CommandFrame(string Kind, string? Text = null, int? Code = null, string? Path = null, string? Base64 = null, JsonElement? Data = null)
{
    public static CommandFrame Out(string text) => new("out", text);

    public static CommandFrame Refresh(string text) => new("refresh", text);

    public static CommandFrame Exit(int code) => new("exit", Code: code);
}
