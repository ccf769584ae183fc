using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PandaFuzz.Node.Tests;

/// <summary>Self-signed and CA-issued certificates, written as the PKCS#12 files an operator would hand a node.</summary>
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

    /// <summary>A CA that can sign node certificates.</summary>
    public static X509Certificate2 CertificateAuthority(string subject = "CN=pandafuzz-test-ca")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    /// <summary>A node certificate <paramref name="ca"/> signed, for <paramref name="subject"/> and these SAN DNS names.</summary>
    public static X509Certificate2 IssuedBy(X509Certificate2 ca, string subject, params string[] dnsNames)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        if (dnsNames.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in dnsNames)
            {
                san.AddDnsName(name);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }
}
