using Xunit;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// A fact that needs network namespaces. Where they cannot be made (not root, no iproute2, no veth or bridge support)
/// the test is reported as skipped, with the reason, instead of passing without having run: xunit 2 has no skip from
/// inside a test, but it reads <see cref="FactAttribute.Skip"/> from the attribute instance at discovery.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    public NetworkNamespaceFactAttribute()
    {
        if (NetworkNamespaces.Unavailable is { } reason)
        {
            Skip = $"Needs network namespaces: {reason}";
        }
    }
}
