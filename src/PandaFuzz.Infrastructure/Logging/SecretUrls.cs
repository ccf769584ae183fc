using System.Text.RegularExpressions;

namespace PandaFuzz.Infrastructure.Logging;

/// <summary>URLs made fit for a log line: user info and key or token query values become <c>***</c>. A webhook's whole URL
/// may be its credential (a Slack or Teams hook's path is its key): <see cref="Display(string)"/> shows only where it goes.</summary>
public static partial class SecretUrls
{
    public const string Mask = "***";

    public static string Redact(string text)
    {
        if (text.IndexOf("://", StringComparison.Ordinal) < 0 && text.IndexOf('=', StringComparison.Ordinal) < 0)
        {
            return text;
        }

        var withoutUsers = UserInfo().Replace(text, m => m.Groups["scheme"].Value + Mask + "@");
        return SecretQuery().Replace(withoutUsers, m => m.Groups["name"].Value + Mask);
    }

    public static string Display(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? $"{uri.Scheme}://{uri.Host}{(uri.IsDefaultPort ? "" : ":" + uri.Port)}{(uri.PathAndQuery is "/" or "" ? "" : "/" + Mask)}"
            : Mask;

    public static string Display(Uri url) => Display(url.OriginalString);

    // scheme://user:password@ or scheme://token@ (no '/', '@' or white space inside).
    [GeneratedRegex(@"(?<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")]
    private static partial Regex UserInfo();

    // ?token=… &api_key=… &X-Amz-Signature=… password=… in a query or a connection string.
    [GeneratedRegex(@"(?<name>(?:[?&;]|\b)(?:access_token|token|api[-_]?key|apikey|key|secret|client_secret|password|passwd|pwd|sig|signature|x-amz-signature|x-amz-credential|auth)=)[^&#;\s""']+",
        RegexOptions.IgnoreCase)]
    private static partial Regex SecretQuery();
}
