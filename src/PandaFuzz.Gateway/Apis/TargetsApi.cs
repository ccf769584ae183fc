using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP API's targets: a binary uploaded under a name, stored by its sha256.</summary>
public static class TargetsApi
{
    public static RouteGroupBuilder MapTargetsApi(this RouteGroupBuilder v1)
    {
        var targets = v1.MapGroup("").WithTags("targets");
        Describe(targets.MapPost("/targets", UploadTarget), "uploadTarget", "Upload a target binary", 400, 413)
            .BinaryBody("The target binary, as built", Binary);
        return v1;
    }

    private static async Task<Results<Created<TargetResponse>, ProblemHttpResult>> UploadTarget(
        HttpRequest request, string? name, [AsParameters] ApiServices api)
    {
        if (!CampaignRequestValidator.IsValidTargetName(name))
        {
            return Problems.Invalid("name", "the query parameter name is required: 1-100 characters of letters, digits, space, '.', '_' or '-'");
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = api.Settings.MaxTargetBytes;
        }

        try
        {
            var (id, size) = await api.Blobs.PutAsync(request.Body, api.Settings.MaxTargetBytes, api.Cancellation);
            if (size == 0)
            {
                return Problems.Invalid("body", "the body must hold the target binary");
            }

            TargetNames.Remember(api.Blobs, id, name!);
            return TypedResults.Created($"/api/v1/targets/{id}", new TargetResponse(id.Sha256, name!, size));
        }
        catch (Exception e) when (e is BlobTooLargeException or BadHttpRequestException)
        {
            return Problems.TooLarge($"a target may be at most {api.Settings.MaxTargetBytes} bytes");
        }
    }
}
