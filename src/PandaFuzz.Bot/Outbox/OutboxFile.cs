using System.Security.Cryptography;
using System.Text;

namespace PandaFuzz.Bot.Outbox;

/// <summary>One kept message as read back from disk, in its wire format.</summary>
public sealed record OutboxRecord(DateTimeOffset EnqueuedAt, int SerializerId, string Manifest, byte[] Payload);

/// <summary>An outbox message's file (and <c>job.msg</c>): the wire format plus a sha256, so a damaged file is not misread.</summary>
public static class OutboxFile
{
    public const string Extension = ".msg";
    public const string TempExtension = ".tmp";

    private static readonly byte[] Magic = "PFOX"u8.ToArray();
    private const byte Version = 1;
    private const int HashLength = 32;

    public static byte[] Encode(Akka.Serialization.Serialization serialization, object message, DateTimeOffset at)
    {
        var serializer = serialization.FindSerializerFor(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        return Encode(new OutboxRecord(at, serializer.Identifier, manifest, serializer.ToBinary(message)));
    }

    public static (object? Message, DateTimeOffset At, string? Problem) Read(Akka.Serialization.Serialization serialization, byte[] bytes)
    {
        var (record, problem) = Decode(bytes);
        if (record is null)
        {
            return (null, default, problem);
        }

        try
        {
            return (serialization.Deserialize(record.Payload, record.SerializerId, record.Manifest), record.EnqueuedAt, null);
        }
        catch (Exception e)
        {
            return (null, record.EnqueuedAt, $"cannot deserialize {record.Manifest}: {e.Message}");
        }
    }

    public static byte[] Encode(OutboxRecord record)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(record.EnqueuedAt.ToUnixTimeMilliseconds());
            writer.Write(record.SerializerId);
            writer.Write(record.Manifest);
            writer.Write(record.Payload.Length);
            writer.Write(record.Payload);
        }

        var body = buffer.ToArray();
        return [.. body, .. SHA256.HashData(body)];
    }

    public static (OutboxRecord? Record, string? Problem) Decode(byte[] bytes)
    {
        if (bytes.Length < Magic.Length + 1 + HashLength || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return (null, $"not an outbox file ({bytes.Length} bytes)");
        }

        var body = bytes.AsSpan(0, bytes.Length - HashLength);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashLength)))
        {
            return (null, "checksum mismatch (truncated or damaged)");
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, body.Length), Encoding.UTF8);
            reader.ReadBytes(Magic.Length);
            var version = reader.ReadByte();
            if (version != Version)
            {
                return (null, $"format version {version} is unknown");
            }

            var at = DateTimeOffset.FromUnixTimeMilliseconds(reader.ReadInt64());
            var serializerId = reader.ReadInt32();
            var manifest = reader.ReadString();
            var length = reader.ReadInt32();
            var payload = reader.ReadBytes(length);
            return payload.Length == length && reader.BaseStream.Position == body.Length
                ? (new OutboxRecord(at, serializerId, manifest, payload), null)
                : (null, "payload length does not match the file");
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException)
        {
            return (null, e.Message);
        }
    }

    /// <summary>A crash at any point leaves the old file or the new one.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        var temp = path + TempExtension;
        // Created anew, never opened through whatever is there: the job's message is written into a work dir a sandboxed
        // target can write in too, and O_EXCL refuses a link it planted.
        File.Delete(temp);
        using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
