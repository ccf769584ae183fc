using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// A test of real nodes with its own <see cref="EndToEndEnvironment"/> (temp dir, nodes, time budget), disposed after the
/// test: that kills whatever it started and keeps the logs of a failure.
/// </summary>
public abstract class EndToEndTest : IAsyncLifetime
{
    protected EndToEndEnvironment Env { get; } = new();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Env.DisposeAsync().AsTask();
}
