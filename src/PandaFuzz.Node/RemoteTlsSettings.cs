using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Remote.Hosting;
using Akka.Remote.Transport.DotNetty;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.Node;

/// <summary>How a TLS node checks the certificate its peer presents.</summary>
public enum PeerValidation
{
    /// <summary>The peer presents the cluster's certificate (the same PKCS#12 file on every node) or one of the pinned thumbprints.</summary>
    Pinned,

    /// <summary>The peer's certificate chains to a CA this machine trusts (per-node certificates from an organisation's CA).</summary>
    Chain,
}

/// <summary>
/// TLS for Akka.Remote (<c>pandafuzz.remote.tls</c>; <c>PANDAFUZZ_REMOTE_TLS_CERT</c>, <c>PANDAFUZZ_REMOTE_TLS_PASSWORD</c> and
/// <c>PANDAFUZZ_REMOTE_TLS_PASSWORD_FILE</c> override it). Off while no certificate is named. On, every node both presents
/// its certificate and checks its peer's (mutual authentication), so a node without TLS or without an accepted certificate
/// cannot join. The password never appears in a message or a log.
/// </summary>
public sealed record RemoteTlsSettings(X509Certificate2 Certificate, string CertificatePath, PeerValidation Validation, IReadOnlyList<string> PinnedThumbprints)
{
    public const string Section = "pandafuzz.remote.tls";
    public const string CertificateVariable = "PANDAFUZZ_REMOTE_TLS_CERT";
    public const string PasswordVariable = "PANDAFUZZ_REMOTE_TLS_PASSWORD";
    public const string PasswordFileVariable = "PANDAFUZZ_REMOTE_TLS_PASSWORD_FILE";

    /// <summary>The settings, or null when TLS is off (no certificate named).</summary>
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

        return new RemoteTlsSettings(certificate, full, validation, [certificate.Thumbprint.ToUpperInvariant(), .. pinned]);
    }

    /// <summary>Akka.Remote's TLS options: mutual authentication, and the peer checked by <see cref="Validation"/>.</summary>
    public SslOptions ToSslOptions() => new()
    {
        X509Certificate = Certificate,
        SuppressValidation = false,
        RequireMutualAuthentication = true,
        ValidateCertificateHostname = false,
        CustomValidator = Validation == PeerValidation.Pinned ? CertificateValidation.PinnedCertificate([.. PinnedThumbprints]) : null,
    };

    public override string ToString() =>
        $"certificate {CertificatePath} ({Certificate.Subject}, thumbprint {Certificate.Thumbprint}), peer validation {Validation.ToString().ToLowerInvariant()}";

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
