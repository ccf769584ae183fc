using Akka.Actor;
using Akka.Configuration;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Master.Projection;
using PandaFuzz.ReadModel;
using Xunit;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// On a new data dir the journal makes its tables when it starts, which can be a moment after the read-model projection
/// and the readiness check first look. Until then the journal is empty, not broken: the projection read to fail ("no such
/// table: journal") and restart, and readiness to say the read model's progress could not be measured.
/// </summary>
public sealed class JournalNotCreatedYetTests : IDisposable
{
    private readonly TestDirectory _directory = new();

    [Fact]
    public async Task Before_the_journal_has_its_tables_the_projection_reads_nothing_and_nothing_is_pending()
    {
        // A journal that makes no tables when it starts: the moment before auto-initialize has run.
        var config = ConfigurationFactory.ParseString("""
                akka.actor.provider = local
                akka.persistence.journal.sql.auto-initialize = off
                akka.persistence.snapshot-store.sql.auto-initialize = off
                """)
            .WithFallback(MasterConfig.Build(_directory.DatabasePath));
        using var system = ActorSystem.Create("journal-not-created-yet", config);
        var readModel = ConfiguredStorage.ReadModelOf(config)!;
        new ReadModelSchema(readModel).EnsureCurrent(migrate: true);

        var pages = JournalEventReader.For(system);
        (await pages(0, 1000)).Should().BeEmpty();
        ReadModelBacklog.Measure(config, readModel, DateTimeOffset.UtcNow).Should().Be(ReadModelBacklog.None);
        using (var journal = ConfiguredStorage.OpenJournal(config)!)
        {
            JournalTable.Exists(journal).Should().BeFalse("this test is about a journal without its tables");
        }

        await system.Terminate();
    }

    public void Dispose() => _directory.Dispose();
}
