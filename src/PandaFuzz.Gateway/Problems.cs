using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>The error kinds of the API, each with a stable problem type, rendered as application/problem+json.</summary>
public static class Problems
{
    public const string InvalidType = "https://pandafuzz.dev/problems/invalid-request";
    public const string NotFoundType = "https://pandafuzz.dev/problems/not-found";
    public const string ConflictType = "https://pandafuzz.dev/problems/conflict";
    public const string TooLargeType = "https://pandafuzz.dev/problems/too-large";
    public const string UnavailableType = "https://pandafuzz.dev/problems/unavailable";

    public static ProblemHttpResult Invalid(string field, string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The request is invalid", type: InvalidType,
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [detail] } });

    public static ProblemHttpResult NotFound(string what, string id) =>
        TypedResults.Problem($"no {what} with id '{Truncate(id)}'", statusCode: StatusCodes.Status404NotFound, title: $"Unknown {what}", type: NotFoundType);

    public static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "The body is too large", type: TooLargeType);

    /// <summary>Maps an entity's refusal (or a missing answer) to its status.</summary>
    public static ProblemHttpResult From(object reply, string? what = null, string? id = null) => reply switch
    {
        CommandRejected { Kind: RejectionKind.NotFound } r => what is null
            ? TypedResults.Problem(r.Reason, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: NotFoundType)
            : NotFound(what, id ?? ""),
        CommandRejected { Kind: RejectionKind.Conflict } r => TypedResults.Problem(r.Reason, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: ConflictType),
        CommandRejected r => TypedResults.Problem(r.Reason, statusCode: StatusCodes.Status400BadRequest, title: "The request is invalid", type: InvalidType),
        ApiEndpoints.Unavailable u => TypedResults.Problem(u.Reason, statusCode: StatusCodes.Status503ServiceUnavailable, title: "The master is unavailable", type: UnavailableType),
        _ => TypedResults.Problem($"unexpected answer {reply.GetType().Name}", statusCode: StatusCodes.Status500InternalServerError),
    };

    private static string Truncate(string id) => id.Length <= 80 ? id : id[..80] + "…";
}
