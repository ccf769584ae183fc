using Akka.Hosting;
using Microsoft.AspNetCore.Mvc;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Configuration;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>The handlers' services, bound as one <c>[AsParameters]</c> parameter so a signature shows only what the request carries.</summary>
internal sealed record ApiServices(
    [FromServices] IRequiredActor<GatewayActor> Gateway,
    [FromServices] ReadModelQueries Queries,
    [FromServices] ContentAddressedStore Blobs,
    [FromServices] CorpusArchiveCache Archives,
    [FromServices] MasterSettings Settings,
    CancellationToken Cancellation);
