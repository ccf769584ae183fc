using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PandaFuzz.Gateway.Access;

/// <summary>Checks <c>Authorization: Bearer</c> against <see cref="ApiAccess"/>; neither the token nor the header is ever logged.</summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiAccess access)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue("Authorization", out var values) || values.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var header = values.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("the Authorization header is not 'Bearer <token>'"));
        }

        if (!access.Accepts(header["Bearer ".Length..].Trim()))
        {
            return Task.FromResult(AuthenticateResult.Fail("the bearer token is not one this master accepts"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-client")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var presented = result.Failure is not null;
        Response.Headers.WWWAuthenticate = presented ? "Bearer realm=\"pandafuzz\", error=\"invalid_token\"" : "Bearer realm=\"pandafuzz\"";
        var detail = presented
            ? $"{result.Failure!.Message}; send 'Authorization: Bearer <token>' with a token from {ApiAccess.TokensVariable}, {ApiAccess.TokenFileVariable} or the master's {ApiAccess.GeneratedTokenFile} file"
            : $"this request needs 'Authorization: Bearer <token>' with a token from {ApiAccess.TokensVariable}, {ApiAccess.TokenFileVariable} or the master's {ApiAccess.GeneratedTokenFile} file";
        await ApiErrors.Result(ApiErrorKind.Unauthorized, detail).ExecuteAsync(Context);
    }
}

/// <summary>Which routes need a token: every write (anything but GET and HEAD), and reads when so configured.</summary>
public static class ApiAuthorization
{
    public static IServiceCollection AddApiAuthorization(this IServiceCollection services, ApiAccess access)
    {
        services.AddSingleton(access);
        services.AddAuthentication(BearerTokenHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        services.AddAuthorization();
        return services;
    }

    public static TBuilder RequireApiToken<TBuilder>(this TBuilder builder, ApiAccess access) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            var methods = endpoint.Metadata.OfType<HttpMethodMetadata>().LastOrDefault()?.HttpMethods ?? [];
            if (IsWrite(methods) || access.ReadsRequireToken)
            {
                endpoint.Metadata.Add(new AuthorizeAttribute { AuthenticationSchemes = BearerTokenHandler.SchemeName });
                endpoint.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status401Unauthorized, typeof(ProblemDetails), ["application/problem+json"]));
            }
        });
        return builder;
    }

    /// <summary>An endpoint with no method list takes any method, so it is a write.</summary>
    public static bool IsWrite(IReadOnlyList<string> methods) =>
        methods.Count == 0 || methods.Any(m => !HttpMethods.IsGet(m) && !HttpMethods.IsHead(m));
}
