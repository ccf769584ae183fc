using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PandaFuzz.Gateway;

/// <summary>Services the HTTP API needs.</summary>
public static class GatewayServices
{
    public static IServiceCollection AddPandaFuzzApi(this IServiceCollection services)
    {
        // States read as words ("running"), as the API documents them.
        services.Configure<JsonOptions>(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        services.AddProblemDetails();
        return services;
    }
}
