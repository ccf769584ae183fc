using Microsoft.Extensions.Hosting;
using PandaFuzz.Gateway;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Protocol;
using Serilog;

namespace PandaFuzz.Node;

/// <summary>One collection of a master's blob store: the journal's references, the uploaded targets and the grace period keep a blob.</summary>
public static class BlobSweep
{
    public static BlobCollection Run(MasterStorage storage, ContentAddressedStore blobs, TimeSpan grace, bool dryRun)
    {
        var referenced = BlobCollector.Referenced(storage);
        return BlobCollector.Sweep(blobs.Root, referenced, sha => TargetNames.Find(blobs, new BlobId(sha)) is not null, grace, DateTimeOffset.UtcNow, dryRun);
    }

    public static string Describe(BlobCollection c) =>
        $"{c.Deleted} unreferenced blobs {(c.DryRun ? "would be" : "were")} deleted ({c.BytesFreed} bytes); kept {c.Kept} referenced or uploaded, " +
        $"{c.Young} unreferenced but within the grace period; the journal names {c.Referenced} sha256 values";
}

/// <summary>The periodic sweep (<c>pandafuzz.master.blob-gc</c>): the first one an interval after start, then every interval.</summary>
public sealed class BlobSweepService(BlobGcSettings settings, MasterStorage storage, ContentAddressedStore blobs) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var collection = await Task.Run(() => BlobSweep.Run(storage, blobs, settings.Grace, dryRun: false), stoppingToken);
                Log.Information("Blob store swept: {Result}", BlobSweep.Describe(collection));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.Warning("The blob store sweep failed and runs again in {Interval}: {Problem}", settings.Interval, e.Message);
            }
        }
    }
}
