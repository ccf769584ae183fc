using Microsoft.AspNetCore.Http.HttpResults;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>The API's refusals as problems; the kinds, statuses and types are <see cref="ApiErrors"/>'.</summary>
public static class Problems
{
    public static readonly string InvalidType = ApiErrors.TypeOf(ApiErrorKind.InvalidRequest);

    public static ProblemHttpResult Invalid(string field, string detail) =>
        ApiErrors.Result(ApiErrorKind.InvalidRequest, detail, errors: new Dictionary<string, string[]> { [field] = [detail] });

    public static ProblemHttpResult NotFound(string what, string id) =>
        ApiErrors.Result(ApiErrorKind.NotFound, $"no {what} with id '{Truncate(id)}'", title: $"Unknown {what}");

    public static ProblemHttpResult TooLarge(string detail) => ApiErrors.Result(ApiErrorKind.TooLarge, detail);

    public static ProblemHttpResult From(object reply, string? what = null, string? id = null) => reply switch
    {
        CommandRejected { Kind: RejectionKind.NotFound } r => what is null ? ApiErrors.Result(ApiErrorKind.NotFound, r.Reason) : NotFound(what, id ?? ""),
        CommandRejected { Kind: RejectionKind.Conflict } r => ApiErrors.Result(ApiErrorKind.Conflict, r.Reason),
        CommandRejected r => ApiErrors.Result(ApiErrorKind.InvalidRequest, r.Reason),
        ApiPlumbing.Unavailable u => ApiErrors.Result(ApiErrorKind.Unavailable, u.Reason),
        _ => ApiErrors.Result(ApiErrorKind.Internal, $"unexpected answer {reply.GetType().Name}"),
    };

    private static string Truncate(string id) => id.Length <= 80 ? id : id[..80] + "…";
}
