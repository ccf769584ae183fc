using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PandaFuzz.Node.Tests;

/// <summary>Self-signed certificates written as the PKCS#12 files an operator would hand a node.</summary>
public static class TestCertificates
{
    public static X509Certificate2 SelfSigned(string subject = "CN=pandafuzz-test", DateTimeOffset? notAfter = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        return request.CreateSelfSigned(notBefore, notAfter ?? DateTimeOffset.UtcNow.AddDays(2));
    }

    /// <summary>Writes the certificate with its private key to <paramref name="path"/>, protected by <paramref name="password"/>.</summary>
    public static string WritePkcs12(X509Certificate2 certificate, string path, string password)
    {
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    /// <summary>Writes the certificate alone (no private key) to <paramref name="path"/>.</summary>
    public static string WritePublicOnly(X509Certificate2 certificate, string path, string password)
    {
        using var publicOnly = X509CertificateLoader.LoadCertificate(certificate.RawData);
        File.WriteAllBytes(path, publicOnly.Export(X509ContentType.Pkcs12, password));
        return path;
    }
}
