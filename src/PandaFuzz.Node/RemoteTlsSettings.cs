using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Hosting;
using Akka.Remote.Transport.DotNetty;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.Node;

/// <summary>How a TLS node checks the certificate its peer presents.</summary>
public enum PeerValidation
{
    /// <summary>The cluster's one certificate (the same PKCS#12 file on every node) or one of the pinned thumbprints.</summary>
    Pinned,

    /// <summary>Chains to a CA this machine trusts (per-node certificates from an organisation's CA).</summary>
    Chain,
}

/// <summary>
/// TLS for Akka.Remote (<c>pandafuzz.remote.tls</c>, or the <c>PANDAFUZZ_REMOTE_TLS_*</c> variables), off while no
/// certificate is named. Mutual: every node presents its certificate and checks its peer's, so a node without an
/// accepted one cannot join. The password never appears in a message or a log.
/// </summary>
public sealed record RemoteTlsSettings(X509Certificate2 Certificate, string CertificatePath, PeerValidation Validation, IReadOnlyList<string> PinnedThumbprints)
{
    /// <summary>In chain mode: names (CN, SAN DNS names and addresses, <c>*.domain</c>) a peer's certificate must carry; empty: any.</summary>
    public IReadOnlyList<string> PeerNames { get; init; } = [];

    /// <summary>In chain mode: the one CA a peer must chain to instead of any this machine trusts, or null.</summary>
    public X509Certificate2? CaCertificate { get; init; }

    public const string Section = "pandafuzz.remote.tls";
    public const string CertificateVariable = "PANDAFUZZ_REMOTE_TLS_CERT";
    public const string PasswordVariable = "PANDAFUZZ_REMOTE_TLS_PASSWORD";
    public const string PasswordFileVariable = "PANDAFUZZ_REMOTE_TLS_PASSWORD_FILE";

    /// <summary>Null when TLS is off (no certificate named).</summary>
    public static RemoteTlsSettings? From(Config config, Func<string, string?> env)
    {
        var r = new HoconReader(config, Section);
        var fromEnv = env(CertificateVariable) is { Length: > 0 };
        var pathKey = fromEnv ? CertificateVariable : r.Key("certificate-path");
        var path = fromEnv ? env(CertificateVariable)!.Trim() : r.String("certificate-path").Trim();
        if (path.Length == 0)
        {
            return null;
        }

        var password = Password(r, env);
        var validation = r.Choice("peer-validation", "pinned", "chain") == "chain" ? PeerValidation.Chain : PeerValidation.Pinned;
        var pinned = new List<string>();
        foreach (var thumbprint in config.HasPath($"{Section}.pinned-thumbprints") ? config.GetStringList($"{Section}.pinned-thumbprints") : [])
        {
            var clean = thumbprint.Replace(":", "").Replace(" ", "").ToUpperInvariant();
            if (clean.Length != 40 || !clean.All(Uri.IsHexDigit))
            {
                throw HoconReader.Invalid(r.Key("pinned-thumbprints"), thumbprint, "a list of SHA-1 certificate thumbprints, 40 hex digits each");
            }

            pinned.Add(clean);
        }

        const string expected = "a PKCS#12 (.pfx/.p12) file holding the node's certificate and its private key";
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw HoconReader.Invalid(pathKey, path, expected + " (no such file)");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(full, password, X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException e)
        {
            // The password is never part of the message: a wrong one reads as "the password is wrong".
            throw HoconReader.Invalid(pathKey, path, $"{expected}, readable with the configured password ({e.Message.Trim()})");
        }

        if (!certificate.HasPrivateKey)
        {
            throw HoconReader.Invalid(pathKey, path, expected + " (it holds no private key)");
        }

        if (certificate.NotAfter < DateTime.Now)
        {
            throw HoconReader.Invalid(pathKey, path, $"{expected}, still valid (it expired {certificate.NotAfter:u})");
        }

        var peerNames = config.HasPath($"{Section}.peer-names") ? config.GetStringList($"{Section}.peer-names").Select(n => n.Trim()).Where(n => n.Length > 0).ToList() : [];
        var caPath = r.String("ca-certificate").Trim();
        X509Certificate2? ca = null;
        if (caPath.Length > 0)
        {
            try
            {
                ca = X509CertificateLoader.LoadCertificateFromFile(Path.GetFullPath(caPath));
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw HoconReader.Invalid(r.Key("ca-certificate"), caPath, $"a CA certificate file (PEM or DER) ({e.Message.Trim()})");
            }
        }

        // A chain to any CA the machine trusts lets in a certificate anyone got from that CA: chain mode names its peers.
        if (validation == PeerValidation.Chain && peerNames.Count == 0 && ca is null)
        {
            throw HoconReader.Invalid(r.Key("peer-validation"), "chain",
                $"chain with {r.Key("peer-names")} (the names peers' certificates carry) or {r.Key("ca-certificate")} (the one CA they come from): " +
                "any certificate a trusted CA signed for anyone would be let in");
        }

        return new RemoteTlsSettings(certificate, full, validation, [certificate.Thumbprint.ToUpperInvariant(), .. pinned]) { PeerNames = peerNames, CaCertificate = ca };
    }

    /// <summary>
    /// Chains to <see cref="CaCertificate"/>, or to a trusted CA when <paramref name="errors"/> has no chain errors, and
    /// carries one of <see cref="PeerNames"/> when set. Host names are not compared: nodes are reached by address.
    /// </summary>
    public bool AcceptsPeer(X509Certificate2 certificate, System.Net.Security.SslPolicyErrors errors)
    {
        if (CaCertificate is { } ca)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (!chain.Build(certificate))
            {
                return false;
            }
        }
        else if (errors.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) || errors.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        return PeerNames.Count == 0 || NamesOf(certificate).Any(name => PeerNames.Any(pattern => Matches(pattern, name)));
    }

    public static IEnumerable<string> NamesOf(X509Certificate2 certificate)
    {
        if (certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) is { Length: > 0 } commonName)
        {
            yield return commonName;
        }

        foreach (var san in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            foreach (var dns in san.EnumerateDnsNames())
            {
                yield return dns;
            }

            foreach (var address in san.EnumerateIPAddresses())
            {
                yield return address.ToString();
            }
        }
    }

    private static bool Matches(string pattern, string name) =>
        pattern.StartsWith("*.", StringComparison.Ordinal)
            ? name.Length > pattern.Length - 1 && name.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(pattern, name, StringComparison.OrdinalIgnoreCase);

    public SslOptions ToSslOptions() => new()
    {
        X509Certificate = Certificate,
        SuppressValidation = false,
        RequireMutualAuthentication = true,
        ValidateCertificateHostname = false,
        CustomValidator = Validation == PeerValidation.Pinned
            ? CertificateValidation.PinnedCertificate([.. PinnedThumbprints])
            : (certificate, _, remotePeer, errors, log) =>
            {
                var accepted = certificate is not null && AcceptsPeer(certificate, errors);
                if (!accepted)
                {
                    log?.Warning("TLS peer {RemotePeer} refused: its certificate ({Subject}) {Why}", remotePeer, certificate?.Subject ?? "none",
                        CaCertificate is null ? $"does not chain to a trusted CA or carries none of {string.Join(", ", PeerNames)}" : $"does not chain to {CaCertificate.Subject} or carries none of the peer names");
                }

                return accepted;
            },
    };

    public override string ToString() =>
        $"certificate {CertificatePath} ({Certificate.Subject}, thumbprint {Certificate.Thumbprint}), peer validation {Validation.ToString().ToLowerInvariant()}" +
        (Validation == PeerValidation.Chain
            ? $" (CA {CaCertificate?.Subject ?? "any this machine trusts"}, peer names {(PeerNames.Count == 0 ? "any" : string.Join(", ", PeerNames))})"
            : "");

    private static string? Password(HoconReader r, Func<string, string?> env)
    {
        if (env(PasswordVariable) is { Length: > 0 } password)
        {
            return password;
        }

        var fileKey = env(PasswordFileVariable) is { Length: > 0 } ? PasswordFileVariable : r.Key("password-file");
        var file = env(PasswordFileVariable) is { Length: > 0 } f ? f.Trim() : r.String("password-file").Trim();
        if (file.Length > 0)
        {
            try
            {
                return File.ReadAllText(file).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw HoconReader.Invalid(fileKey, file, $"a readable file holding the certificate's password ({e.Message})");
            }
        }

        return r.String("password") is { Length: > 0 } inFile ? inFile : null;
    }
}
