using System.IO.Compression;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// Corpora for <c>targets/bench_parser.c</c> in its record format ("BP", a version, records of type, length and payload):
/// random types (its handled ones and the ranges it folds), lengths and payloads, some starting with a keyword or magic
/// value it compares. Each input ends with a record naming its seed and index, so no two inputs of any corpus are the same
/// blob: a report on a fresh corpus fetches every input, none is already in the bot's store.
/// </summary>
public static class BenchParserCorpus
{
    private static readonly byte[][] Prefixes =
    [
        "GET "u8.ToArray(), "PUT "u8.ToArray(), "POST"u8.ToArray(), "DEL "u8.ToArray(), "LIST"u8.ToArray(), "HEAD"u8.ToArray(),
        [0x50, 0x41, 0x4e, 0x4b, 0xef, 0xbe], [0xde, 0xc0, 0xad, 0xde], [0x7a, 0x7a], [0x3c, 0x91, 0x07, 0xe2],
    ];

    /// <summary>A zip of <paramref name="count"/> inputs, the same for the same <paramref name="seed"/>.</summary>
    public static byte[] Zip(int count, int seed)
    {
        var random = new Random(seed);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < count; i++)
            {
                var entry = zip.CreateEntry($"input-{seed}-{i:D6}", CompressionLevel.Fastest);
                using var stream = entry.Open();
                stream.Write(Input(random, seed, i));
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Input(Random random, int seed, int index)
    {
        var input = new List<byte> { (byte)'B', (byte)'P', (byte)random.Next(1, 4) };
        var records = random.Next(1, 12);
        for (var r = 0; r < records; r++)
        {
            var type = random.Next(5) == 0 ? random.Next(0x40, 0x60) : random.Next(1, 12);
            if (random.Next(8) == 0)
            {
                type |= 0x80;
            }

            var payload = new byte[random.Next(0, 48)];
            random.NextBytes(payload);
            var prefix = Prefixes[random.Next(Prefixes.Length)];
            if (random.Next(3) == 0 && payload.Length >= prefix.Length)
            {
                prefix.CopyTo(payload, 0);
            }

            input.Add((byte)type);
            input.Add((byte)payload.Length);
            input.AddRange(payload);
        }

        input.Add(0x07);
        input.Add(8);
        input.AddRange(BitConverter.GetBytes(seed));
        input.AddRange(BitConverter.GetBytes(index));
        return [.. input];
    }
}
