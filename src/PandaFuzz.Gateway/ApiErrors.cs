using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace PandaFuzz.Gateway;

/// <summary>
/// The kinds of error the API answers with. Code inside refuses with a kind (an entity's <c>RejectionKind</c>, a
/// validator's field errors, a missing answer); the edge turns each into <c>application/problem+json</c> with the
/// kind's status and a <c>type</c> that never changes, so clients can switch on it.
/// </summary>
public enum ApiErrorKind
{
    InvalidRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    Conflict,
    TooLarge,
    UnsupportedMediaType,
    Unavailable,
    Internal,
}

public static class ApiErrors
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
        [ApiErrorKind.UnsupportedMediaType] = (StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "The body's media type is not accepted"),
        [ApiErrorKind.Unavailable] = (StatusCodes.Status503ServiceUnavailable, "unavailable", "The master is unavailable"),
        [ApiErrorKind.Internal] = (StatusCodes.Status500InternalServerError, "internal", "An unexpected error"),
    };

    /// <summary>The stable problem type of <paramref name="kind"/>.</summary>
    public static string TypeOf(ApiErrorKind kind) => TypeBase + Kinds[kind].Slug;

    public static int StatusOf(ApiErrorKind kind) => Kinds[kind].Status;

    /// <summary>The kind a status answered by the framework itself (routing, binding, Kestrel's limits) belongs to.</summary>
    public static ApiErrorKind KindOf(int status) => status switch
    {
        401 => ApiErrorKind.Unauthorized,
        404 => ApiErrorKind.NotFound,
        405 => ApiErrorKind.MethodNotAllowed,
        409 => ApiErrorKind.Conflict,
        413 => ApiErrorKind.TooLarge,
        415 => ApiErrorKind.UnsupportedMediaType,
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

    /// <summary>
    /// Gives every problem the framework writes (status code pages, the exception handler) the type and title of its
    /// kind; problems the API wrote keep theirs.
    /// </summary>
    public static void Complete(ProblemDetails problem)
    {
        var kind = KindOf(problem.Status ?? StatusCodes.Status500InternalServerError);
        if (problem.Type is null || !problem.Type.StartsWith(TypeBase, StringComparison.Ordinal))
        {
            problem.Type = TypeOf(kind);
            problem.Title = Kinds[kind].Title;
        }

        problem.Detail ??= kind switch
        {
            ApiErrorKind.NotFound => "no route matches this path",
            ApiErrorKind.MethodNotAllowed => "this path does not take this method",
            ApiErrorKind.UnsupportedMediaType => "this route takes another content type",
            ApiErrorKind.TooLarge => "the body is larger than this route takes",
            ApiErrorKind.InvalidRequest => "the request could not be read: check its parameters, headers and body",
            ApiErrorKind.Internal => "the master failed on this request; it is logged",
            _ => null,
        };
    }
}
