using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace PandaFuzz.Gateway;

/// <summary>
/// The kinds of error the API answers with; the edge turns each into <c>application/problem+json</c> with the kind's
/// status and a <c>type</c> that never changes, so clients can switch on it.
/// </summary>
public enum ApiErrorKind
{
    InvalidRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    Conflict,
    TooLarge,
    UriTooLong,
    HeadersTooLarge,
    UnsupportedMediaType,
    Unavailable,
    Internal,
}

public static partial class ApiErrors
{
    public const string TypeBase = "https://pandafuzz.dev/problems/";

    private static readonly Dictionary<ApiErrorKind, (int Status, string Slug, string Title)> Kinds = new()
    {
        [ApiErrorKind.InvalidRequest] = (StatusCodes.Status400BadRequest, "invalid-request", "The request is invalid"),
        [ApiErrorKind.Unauthorized] = (StatusCodes.Status401Unauthorized, "unauthorized", "A valid bearer token is required"),
        [ApiErrorKind.NotFound] = (StatusCodes.Status404NotFound, "not-found", "Not found"),
        [ApiErrorKind.MethodNotAllowed] = (StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "The method is not allowed here"),
        [ApiErrorKind.Conflict] = (StatusCodes.Status409Conflict, "conflict", "Conflict"),
        [ApiErrorKind.TooLarge] = (StatusCodes.Status413PayloadTooLarge, "too-large", "The body is too large"),
        [ApiErrorKind.UriTooLong] = (StatusCodes.Status414UriTooLong, "uri-too-long", "The request's path and query are too long"),
        [ApiErrorKind.HeadersTooLarge] = (StatusCodes.Status431RequestHeaderFieldsTooLarge, "headers-too-large", "The request's headers are too large"),
        [ApiErrorKind.UnsupportedMediaType] = (StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "The body's media type is not accepted"),
        [ApiErrorKind.Unavailable] = (StatusCodes.Status503ServiceUnavailable, "unavailable", "The master is unavailable"),
        [ApiErrorKind.Internal] = (StatusCodes.Status500InternalServerError, "internal", "An unexpected error"),
    };

    public static string TypeOf(ApiErrorKind kind) => TypeBase + Kinds[kind].Slug;

    public static int StatusOf(ApiErrorKind kind) => Kinds[kind].Status;

    public static string TitleOf(ApiErrorKind kind) => Kinds[kind].Title;

    /// <summary>The kind of a status the framework answered by itself (routing, binding, Kestrel's limits).</summary>
    public static ApiErrorKind KindOf(int status) => status switch
    {
        401 => ApiErrorKind.Unauthorized,
        404 => ApiErrorKind.NotFound,
        405 => ApiErrorKind.MethodNotAllowed,
        409 => ApiErrorKind.Conflict,
        413 => ApiErrorKind.TooLarge,
        414 => ApiErrorKind.UriTooLong,
        415 => ApiErrorKind.UnsupportedMediaType,
        431 => ApiErrorKind.HeadersTooLarge,
        503 => ApiErrorKind.Unavailable,
        >= 500 => ApiErrorKind.Internal,
        _ => ApiErrorKind.InvalidRequest,
    };

    public static ProblemHttpResult Result(ApiErrorKind kind, string detail, string? title = null, IDictionary<string, string[]>? errors = null)
    {
        var (status, _, defaultTitle) = Kinds[kind];
        var extensions = errors is null ? null : new Dictionary<string, object?> { ["errors"] = errors };
        return TypedResults.Problem(detail, statusCode: status, title: title ?? defaultTitle, type: TypeOf(kind), extensions: extensions);
    }

    /// <summary>Gives every problem the framework writes the type and title of its kind; problems the API wrote keep theirs.</summary>
    /// <param name="exception">A request the framework could not bind names the field.</param>
    public static void Complete(ProblemDetails problem, Exception? exception = null)
    {
        var kind = KindOf(problem.Status ?? StatusCodes.Status500InternalServerError);
        if (problem.Type is null || !problem.Type.StartsWith(TypeBase, StringComparison.Ordinal))
        {
            problem.Type = TypeOf(kind);
            problem.Title = Kinds[kind].Title;
        }

        if (kind == ApiErrorKind.InvalidRequest && Unbound(exception) is var (field, message))
        {
            problem.Detail = message;
            problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [message] };
        }

        problem.Detail ??= kind switch
        {
            ApiErrorKind.NotFound => "no route matches this path",
            ApiErrorKind.MethodNotAllowed => "this path does not take this method",
            ApiErrorKind.UnsupportedMediaType => "this route takes another content type",
            ApiErrorKind.TooLarge => "the body is larger than this route takes",
            ApiErrorKind.UriTooLong => "the path and query are longer than the API takes",
            ApiErrorKind.HeadersTooLarge => "the headers are larger, or more, than the API takes",
            ApiErrorKind.InvalidRequest => "the request could not be read: check its parameters, headers and body",
            ApiErrorKind.Internal => "the master failed on this request; it is logged",
            _ => null,
        };
    }

    /// <summary>
    /// The field the framework could not bind, with a message free of the .NET types its own carries: a JSON body's
    /// field by its path (<c>$.targetId</c> is <c>targetId</c>), a parameter by its name.
    /// </summary>
    public static (string Field, string Message)? Unbound(Exception? exception)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return null;
        }

        for (var inner = bad.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Text.Json.JsonException json)
            {
                return JsonField(json);
            }
        }

        var parameter = BoundParameter().Match(bad.Message);
        if (!parameter.Success)
        {
            return null;
        }

        var name = parameter.Groups["name"].Value;
        return bad.Message.Contains("was not provided", StringComparison.Ordinal)
            ? (name, $"{name} is required")
            : (name, $"{name} has a value this route cannot read");
    }

    /// <summary>Without .NET type names.</summary>
    public static (string Field, string Message) JsonField(System.Text.Json.JsonException json)
    {
        var path = json.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : null;
        return path is null
            ? ("body", "the body is not JSON of the shape this route takes")
            : (path, $"{path}: not valid JSON, or not of the type this route takes there");
    }

    // 'Failed to bind parameter "int? timeLimitSeconds" from "abc".', 'Required parameter "string name" was not provided ...'
    [System.Text.RegularExpressions.GeneratedRegex("parameter \"(?:[^\"]* )?(?<name>[A-Za-z_][A-Za-z0-9_]*)\"")]
    private static partial System.Text.RegularExpressions.Regex BoundParameter();
}
