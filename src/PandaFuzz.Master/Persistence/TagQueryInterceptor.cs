using System.Data.Common;
using System.Text.RegularExpressions;
using LinqToDB.Interceptors;

namespace PandaFuzz.Master.Persistence;

/// <summary>
/// Akka.Persistence.Sql 1.5.73 reads an event's tags with a subquery linq2db 6.5.1 turns into a <c>GROUP_CONCAT(CASE
/// WHEN ...)</c> over the whole tags table per event: quadratic in the journal (a 21,000-event rebuild took 45-70 s).
/// This puts the condition in a <c>WHERE</c> the primary key answers (same result), and orders queries by tag so a page
/// is read from <see cref="TagOrderingIndex"/>. PostgreSQL's shape is not rewritten: its journal has no DataOptions setup.
/// </summary>
public sealed partial class TagQueryInterceptor : CommandInterceptor
{
    public static readonly TagQueryInterceptor Instance = new();

    private long _rewritten;

    /// <summary>How many commands were rewritten (a test's proof that the journal's queries go through it).</summary>
    public long Rewritten => Interlocked.Read(ref _rewritten);

    /// <summary>Lets a query by tag read only the events past its offset; the plugin's <c>tags (tag)</c> index visits every event of the tag.</summary>
    public const string TagOrderingIndex = "CREATE INDEX IF NOT EXISTS tags_tag_ordering_idx ON tags (tag, ordering_id);";

    private const string PluginTagIndex = "CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);";

    /// <summary>Also adds <see cref="TagOrderingIndex"/> to the plugin's table creation, run at every start, so existing journals get it.</summary>
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

    // Ordered by the journal's column, SQLite sorts every event of the tag after the offset before taking a page
    // (0.8 s per page early in a 1M-event rebuild); ordered by the equal lp.ordering_id it walks the index (under 1 ms).
    [GeneratedRegex(
        """(?<join>INNER\s+JOIN\s+[\["]?tags[\]"]?\s+(?<lp>[\["]?\w+[\]"]?)\s+ON\s+\k<lp>\.(?<id>[\["]?ordering_id[\]"]?)\s*=\s*(?<x>[\["]?\w+[\]"]?)\.(?<col>[\["]?ordering[\]"]?))(?<between>(?:(?!ORDER\s+BY)[\s\S])*?)ORDER\s+BY(?<space>\s+)\k<x>\.\k<col>(?=\s+LIMIT)""",
        RegexOptions.CultureInvariant)]
    private static partial Regex ByTagOrder();

    // SQLite's GROUP_CONCAT(CASE WHEN ... END, ';') FROM [tags] [t1], only when the subquery has no WHERE of its own.
    [GeneratedRegex(
        """(?<fn>GROUP_CONCAT)\(CASE\s+WHEN\s+(?<id>(?<a>[\["]?\w+[\]"]?)\.[\["]?ordering_id[\]"]?)\s*=\s*(?<outer>[\["]?\w+[\]"]?\.[\["]?\w+[\]"]?)\s+THEN\s+(?<tag>\k<a>\.[\["]?tag[\]"]?)\s+ELSE\s+NULL\s+END\s*,\s*(?<sep>'[^']*')\)(?<from>\s+FROM\s+[\["]?\w+[\]"]?\s+(?:AS\s+)?\k<a>)(?=\s*\))""",
        RegexOptions.CultureInvariant)]
    private static partial Regex TagAggregate();
}
