using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Akka.Remote between real node processes on loopback: it listens only on the configured address, and with
/// pandafuzz.remote.tls it speaks TLS, forms the cluster and runs a job, while a node without TLS, or with a
/// certificate the cluster does not pin, cannot join.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class RemoteTransportTests(TargetBuilder targets) : EndToEndTest
{
    private const string Password = "cluster-secret";

    [Fact]
    public Task Remoting_listens_only_on_the_configured_address() =>
        Env.RunAsync(TimeSpan.FromMinutes(2), async ct =>
        {
            // 127.0.0.2 is loopback too on Linux, but a different address: a wildcard bind would answer on 127.0.0.1.
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master", host: "127.0.0.2"), ct);
            var port = node.Options.RemotePort;

            (await CanConnectAsync(IPAddress.Parse("127.0.0.2"), port, ct)).Should().BeTrue("remoting listens on the configured address");
            (await CanConnectAsync(IPAddress.Loopback, port, ct)).Should().BeFalse("remoting must not listen on other addresses");
            ListeningAddresses(port).Should().NotBeEmpty().And.NotContain(a => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any),
                "no wildcard listener on the remoting port (/proc/net/tcp, /proc/net/tcp6)");
        });

    [Fact]
    public Task With_tls_the_cluster_forms_and_runs_a_job_and_nodes_without_the_clusters_certificate_cannot_join() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: one self-signed certificate for the cluster (pinned validation), and another one.
            using var cluster = SelfSigned("CN=pandafuzz-cluster");
            using var stranger = SelfSigned("CN=pandafuzz-stranger");
            var clusterPfx = WritePkcs12(cluster, Path.Combine(Env.Root, "cluster.pfx"));
            var strangerPfx = WritePkcs12(stranger, Path.Combine(Env.Root, "stranger.pfx"));
            var passwordFile = Path.Combine(Env.Root, "tls-password");
            await File.WriteAllTextAsync(passwordFile, Password + "\n", ct);
            Dictionary<string, string> Tls(string pfx) => new()
            {
                ["PANDAFUZZ_REMOTE_TLS_CERT"] = pfx,
                ["PANDAFUZZ_REMOTE_TLS_PASSWORD_FILE"] = passwordFile,
            };

            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master") with { Environment = Tls(clusterPfx) }, ct);
            var seeds = master.Options.RemoteEndpoint;

            // Act: a bot with the cluster's certificate, one without TLS, one with another certificate.
            var bot = Env.StartNode(Env.NewNodeOptions("bot", "bot", seeds) with { Environment = Tls(clusterPfx) });
            var plain = Env.StartNode(Env.NewNodeOptions("plain", "bot", seeds));
            var other = Env.StartNode(Env.NewNodeOptions("other", "bot", seeds) with { Environment = Tls(strangerPfx) });
            using var api = new ApiClient(master.Options.BaseAddress);

            // Assert: the TLS bot joins and runs a job to its crash.
            await Eventually.SatisfyAsync(
                "the bot with the cluster's certificate is online",
                Timeouts.BotOnline,
                api.GetBotsAsync,
                bots => bots.Any(b => b.Address == bot.Options.RemoteEndpoint && States.Is(b.State, "online")),
                ct,
                master.EnsureRunning);
            var target = await FuzzingFlow.UploadAsync(api, targets.PlantedBug, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest("over-tls", target.Id, DurationSeconds: 30), ct);
            var crashes = await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, master.EnsureRunning, ct);
            crashes.Should().NotBeEmpty("the job ran on the TLS bot and its crash came back over TLS");

            // The remoting port speaks TLS and presents the cluster's certificate.
            var presented = await TlsHandshakeAsync(master.Options.RemotePort, cluster, ct);
            presented.Thumbprint.Should().Be(cluster.Thumbprint);

            // The other two never join (they have had the whole job's time to try).
            var bots = await api.GetBotsAsync(ct);
            bots.Select(b => b.Address).Should().NotContain(plain.Options.RemoteEndpoint, "a node without TLS cannot talk to a TLS cluster")
                .And.NotContain(other.Options.RemoteEndpoint, "a certificate the cluster does not pin is refused");
            bots.Should().ContainSingle();
            var log = ConfigurationTests.ReadLog(master.Options.LogPath);
            log.Should().Contain("not an SSL/TLS record", "the plain node's handshake reached the master and was refused");
            log.Should().Contain($"Certificate pinning failed for", "the stranger's certificate was refused by pinning")
                .And.Contain(stranger.Thumbprint);
        });

    [Fact]
    public Task With_chain_validation_nodes_holding_certificates_from_a_trusted_ca_for_a_member_name_join_and_others_do_not() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: a CA the nodes trust (OpenSSL's SSL_CERT_FILE, which .NET on Linux reads), a certificate from it per
            // node, and a self-signed one.
            using var ca = CertificateAuthority();
            var caFile = Path.Combine(Env.Root, "ca.pem");
            await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem(), ct);
            Dictionary<string, string> Chain(X509Certificate2 certificate, string name) => new()
            {
                ["PANDAFUZZ_REMOTE_TLS_CERT"] = WritePkcs12(certificate, Path.Combine(Env.Root, name + ".pfx")),
                ["PANDAFUZZ_REMOTE_TLS_PASSWORD"] = Password,
                ["PANDAFUZZ__PANDAFUZZ__REMOTE__TLS__PEER_VALIDATION"] = "chain",
                // Not just any certificate the trusted CA signed: one for a cluster member's name.
                ["PANDAFUZZ__PANDAFUZZ__REMOTE__TLS__PEER_NAMES"] = "[\"master\", \"bot\"]",
                ["SSL_CERT_FILE"] = caFile,
            };

            using var masterCertificate = IssuedBy(ca, "CN=master");
            using var botCertificate = IssuedBy(ca, "CN=bot");
            using var selfSigned = SelfSigned("CN=self-signed");
            using var intruderCertificate = IssuedBy(ca, "CN=intruder");
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master") with { Environment = Chain(masterCertificate, "master") }, ct);

            // Act
            var bot = Env.StartNode(Env.NewNodeOptions("bot", "bot", master.Options.RemoteEndpoint) with { Environment = Chain(botCertificate, "bot") });
            var outsider = Env.StartNode(Env.NewNodeOptions("outsider", "bot", master.Options.RemoteEndpoint) with { Environment = Chain(selfSigned, "outsider") });
            var intruder = Env.StartNode(Env.NewNodeOptions("intruder", "bot", master.Options.RemoteEndpoint) with { Environment = Chain(intruderCertificate, "intruder") });
            using var api = new ApiClient(master.Options.BaseAddress);

            // Assert
            await Eventually.SatisfyAsync(
                "the bot with a certificate from the CA is online",
                Timeouts.BotOnline,
                api.GetBotsAsync,
                bots => bots.Any(b => b.Address == bot.Options.RemoteEndpoint && States.Is(b.State, "online")),
                ct,
                master.EnsureRunning);
            foreach (var (refusal, logged) in new[]
                     {
                         ("the self-signed certificate", "TLS handshake failed"),
                         ("the certificate the trusted CA signed for another name", "certificate (CN=intruder)"),
                     })
            {
                await Eventually.SatisfyAsync($"the master refuses {refusal}", TimeSpan.FromSeconds(30),
                    _ => Task.FromResult(ConfigurationTests.ReadLog(master.Options.LogPath)), log => log.Contains(logged, StringComparison.Ordinal), ct, master.EnsureRunning);
            }

            (await api.GetBotsAsync(ct)).Select(b => b.Address).Should().NotContain([outsider.Options.RemoteEndpoint, intruder.Options.RemoteEndpoint]);
        });

    private static async Task<bool> CanConnectAsync(IPAddress address, int port, CancellationToken ct)
    {
        using var client = new TcpClient(address.AddressFamily);
        try
        {
            await client.ConnectAsync(address, port, ct);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Local addresses of the sockets listening on <paramref name="port"/>, from the kernel's tables.</summary>
    private static List<IPAddress> ListeningAddresses(int port)
    {
        var addresses = new List<IPAddress>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = fields[1].Split(':');
                if (fields[3] != "0A" || int.Parse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != port)
                {
                    continue;
                }

                // The kernel prints each 32-bit word of the address in host (little-endian) order.
                var bytes = Convert.FromHexString(local[0]);
                for (var i = 0; i < bytes.Length; i += 4)
                {
                    Array.Reverse(bytes, i, 4);
                }

                addresses.Add(new IPAddress(bytes));
            }
        }

        return addresses;
    }

    /// <summary>A TLS handshake with the remoting port (presenting a client certificate, which it requires); the server's certificate.</summary>
    private static async Task<X509Certificate2> TlsHandshakeAsync(int port, X509Certificate2 clientCertificate, CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, ct);
        await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "pandafuzz-cluster",
            ClientCertificates = [clientCertificate],
            EnabledSslProtocols = SslProtocols.None,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, ct);
        return new X509Certificate2(tls.RemoteCertificate!);
    }

    private static X509Certificate2 CertificateAuthority()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=pandafuzz-test-ca", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 IssuedBy(X509Certificate2 ca, string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static string WritePkcs12(X509Certificate2 certificate, string path)
    {
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, Password));
        return path;
    }
}
