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
/// Queries by tag are also ordered by the tags table's ordering (equal to the journal's by the join), so that a page is
/// read from the index on (tag, ordering_id) that <see cref="TagOrderingIndex"/> adds instead of sorting every later event.
/// On PostgreSQL linq2db writes <c>STRING_AGG(t.tag, ';') FILTER (WHERE t.ordering_id = row.ordering) FROM tags t</c>,
/// the same scan; that shape is not rewritten here (the PostgreSQL journal has no DataOptions setup to carry it yet).
/// </summary>
public sealed partial class TagQueryInterceptor : CommandInterceptor
{
    public static readonly TagQueryInterceptor Instance = new();

    private long _rewritten;

    /// <summary>How many commands were rewritten (a test's proof that the journal's queries go through it).</summary>
    public long Rewritten => Interlocked.Read(ref _rewritten);

    /// <summary>
    /// The index that lets a query by tag read only the tag's events after its offset: the plugin's own index on
    /// <c>tags (tag)</c> leaves SQLite to visit every event of the tag on each poll of the read-model projection
    /// (tens of milliseconds per poll at 200,000 events, growing with the journal).
    /// </summary>
    public const string TagOrderingIndex = "CREATE INDEX IF NOT EXISTS tags_tag_ordering_idx ON tags (tag, ordering_id);";

    private const string PluginTagIndex = "CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);";

    /// <summary>
    /// The command text with every whole-table tag aggregate made correlated, and <see cref="TagOrderingIndex"/> added
    /// to the plugin's table creation (run at every start with auto-initialize, so an existing journal gets it too);
    /// the same instance when there is nothing to change.
    /// </summary>
    public static string Rewrite(string sql)
    {
        if (sql.Contains(PluginTagIndex, StringComparison.Ordinal) && !sql.Contains(TagOrderingIndex, StringComparison.Ordinal))
        {
            return sql.Replace(PluginTagIndex, PluginTagIndex + "\n" + TagOrderingIndex, StringComparison.Ordinal);
        }

        var rewritten = sql.Contains("CASE", StringComparison.Ordinal) ? TagAggregate().Replace(sql, "${fn}(${tag}, ${sep})${from} WHERE ${id} = ${outer}") : sql;
        return rewritten.Contains("INNER JOIN", StringComparison.Ordinal) ? ByTagOrder().Replace(rewritten, "${join}${between}ORDER BY${space}${lp}.${id}") : rewritten;
    }

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

    // Events by tag: "journal x INNER JOIN tags lp ON lp.ordering_id = x.ordering WHERE lp.ordering_id > @Offset ...
    // ORDER BY x.ordering LIMIT @take". Ordered by the journal's column, SQLite sorts every event of the tag after the
    // offset (half a million at the start of a rebuild of 1M events: 0.8 s per page of 500) before it takes the page;
    // ordered by the equal lp.ordering_id it walks (tag, ordering_id) and stops after the page (under 1 ms).
    [GeneratedRegex(
        """(?<join>INNER\s+JOIN\s+[\["]?tags[\]"]?\s+(?<lp>[\["]?\w+[\]"]?)\s+ON\s+\k<lp>\.(?<id>[\["]?ordering_id[\]"]?)\s*=\s*(?<x>[\["]?\w+[\]"]?)\.(?<col>[\["]?ordering[\]"]?))(?<between>(?:(?!ORDER\s+BY)[\s\S])*?)ORDER\s+BY(?<space>\s+)\k<x>\.\k<col>(?=\s+LIMIT)""",
        RegexOptions.CultureInvariant)]
    private static partial Regex ByTagOrder();

    // SQLite's shape: GROUP_CONCAT(CASE WHEN [t1].[ordering_id] = [x_1].[Ordering] THEN [t1].[tag] ELSE NULL END, ';')
    // FROM [tags] [t1]. Only when the subquery ends right after its FROM (no WHERE of its own).
    [GeneratedRegex(
        """(?<fn>GROUP_CONCAT)\(CASE\s+WHEN\s+(?<id>(?<a>[\["]?\w+[\]"]?)\.[\["]?ordering_id[\]"]?)\s*=\s*(?<outer>[\["]?\w+[\]"]?\.[\["]?\w+[\]"]?)\s+THEN\s+(?<tag>\k<a>\.[\["]?tag[\]"]?)\s+ELSE\s+NULL\s+END\s*,\s*(?<sep>'[^']*')\)(?<from>\s+FROM\s+[\["]?\w+[\]"]?\s+(?:AS\s+)?\k<a>)(?=\s*\))""",
        RegexOptions.CultureInvariant)]
    private static partial Regex TagAggregate();
}
