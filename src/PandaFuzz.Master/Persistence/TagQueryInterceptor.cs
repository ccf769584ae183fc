using System.Data.Common;
using System.Text.RegularExpressions;
using LinqToDB.Interceptors;

namespace PandaFuzz.Master.Persistence;

/// <summary>
/// Makes the read journal's tag look-up a correlated query again. In TagTable mode Akka.Persistence.Sql 1.5.73 reads
/// the tags of every event it returns by tag (the read-model projection, <c>pandafuzz db rebuild-read-model</c>) with
/// <c>Sql.StringAggregate(tags.Where(t =&gt; t.OrderingId == row.Ordering))</c>, which linq2db 6.5.1 translates into
/// <c>(SELECT GROUP_CONCAT(CASE WHEN t.ordering_id = row.ordering THEN t.tag ELSE NULL END, ';') FROM tags t)</c>: a
/// scan of the whole tags table (one row per event) for each event returned. On a journal of 21,000 events that made
/// the rebuild take 45-70 s, mostly CPU in SQLite, and the cost grows with the journal squared (each page of events
/// reads page size × all tags). The interceptor turns that subquery into the same aggregate over
/// <c>WHERE t.ordering_id = row.ordering</c>, which the tags table's primary key (ordering_id, tag) answers directly;
/// the result is the same (the CASE only dropped the other rows, and both give NULL when a row has no tag).
/// </summary>
public sealed partial class TagQueryInterceptor : CommandInterceptor
{
    public static readonly TagQueryInterceptor Instance = new();

    private long _rewritten;

    /// <summary>How many commands were rewritten (a test's proof that the journal's queries go through it).</summary>
    public long Rewritten => Interlocked.Read(ref _rewritten);

    /// <summary>The command text with every whole-table tag aggregate made correlated; unchanged when there is none.</summary>
    public static string Rewrite(string sql) =>
        sql.Contains("CASE", StringComparison.Ordinal) ? TagAggregate().Replace(sql, "${fn}(${tag}, ${sep})${from} WHERE ${id} = ${outer}") : sql;

    public override DbCommand CommandInitialized(CommandEventData eventData, DbCommand command)
    {
        var rewritten = Rewrite(command.CommandText);
        if (!ReferenceEquals(rewritten, command.CommandText))
        {
            command.CommandText = rewritten;
            Interlocked.Increment(ref _rewritten);
        }

        return command;
    }

    // SQLite: [t1].[ordering_id], GROUP_CONCAT(..., ';'); PostgreSQL: t1.ordering_id, STRING_AGG(..., ';'). Only when the
    // subquery ends right after its FROM (no WHERE of its own).
    [GeneratedRegex(
        """(?<fn>GROUP_CONCAT|STRING_AGG)\(CASE\s+WHEN\s+(?<id>(?<a>[\["]?\w+[\]"]?)\.[\["]?ordering_id[\]"]?)\s*=\s*(?<outer>[\["]?\w+[\]"]?\.[\["]?\w+[\]"]?)\s+THEN\s+(?<tag>\k<a>\.[\["]?tag[\]"]?)\s+ELSE\s+NULL\s+END\s*,\s*(?<sep>'[^']*')\)(?<from>\s+FROM\s+[\["]?\w+[\]"]?\s+(?:AS\s+)?\k<a>)(?=\s*\))""",
        RegexOptions.CultureInvariant)]
    private static partial Regex TagAggregate();
}
