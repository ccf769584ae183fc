using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace PandaFuzz.Gateway.Dashboard;

/// <summary>
/// The web dashboard, embedded and served at <c>/ui/</c>. The files carry no data, so they need no token: every figure
/// comes from <c>/api/v1</c> with the operator's token.
/// </summary>
public static class DashboardAssets
{
    public const string RequestPath = "/ui";

    /// <summary>Only this origin's scripts, styles and data; inputs download through blob URLs; no other site may frame it.</summary>
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
                // Names carry no version, so browsers revalidate each time (304 with the ETag) and never mix builds' modules.
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
