using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace PandaFuzz.Gateway.Dashboard;

/// <summary>
/// The web dashboard: plain HTML, CSS and ES modules embedded in this assembly (<c>Dashboard/wwwroot</c>), served at
/// <c>/ui/</c>; <c>/</c> redirects there. The files carry no data, so they need no token: every figure the dashboard
/// shows comes from <c>/api/v1</c> with the operator's bearer token, under the API's own rules.
/// </summary>
public static class DashboardAssets
{
    public const string RequestPath = "/ui";

    /// <summary>
    /// The pages may load only this origin's scripts, styles and data; inputs are downloaded through blob URLs, and no
    /// other site may frame the dashboard.
    /// </summary>
    private const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
    {
        var files = new ManifestEmbeddedFileProvider(typeof(DashboardAssets).Assembly, "Dashboard/wwwroot");
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".html"] = "text/html; charset=utf-8";
        types.Mappings[".js"] = "text/javascript; charset=utf-8";
        types.Mappings[".css"] = "text/css; charset=utf-8";

        app.Use((context, next) =>
        {
            if (context.Request.Path == "/" && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
            {
                context.Response.Redirect(RequestPath + "/");
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = RequestPath, DefaultFileNames = ["index.html"] });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = RequestPath,
            ContentTypeProvider = types,
            OnPrepareResponse = file =>
            {
                // The file names carry no version: browsers keep a copy but ask again each time (a 304 with the ETag),
                // so a new build's dashboard is never mixed with the old one's modules.
                var headers = file.Context.Response.Headers;
                headers.CacheControl = "no-cache";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
            },
        });
        return app;
    }
}
