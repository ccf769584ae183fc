using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>
/// Reads of files a sandboxed target could have written or replaced. A path there is data, never a way out: each level is
/// opened with <c>openat(O_NOFOLLOW)</c>, and only a regular file with a single name, of at most the caller's size, is
/// read; FIFOs, sockets and devices are refused without blocking on them.
/// </summary>
public static class UntrustedFiles
{
    /// <summary>The target may delete its files at any moment: no attack.</summary>
    public const string NotFound = "is not found";

    public static bool IsOrdinary(string? refusal) =>
        refusal is null or NotFound || refusal.StartsWith(TooLargePrefix, StringComparison.Ordinal);

    private const string TooLargePrefix = "it holds ";

    /// <summary>The path must lie below <paramref name="root"/>, a directory the bot made; null with the reason when refused.</summary>
    public static UntrustedFile? Open(string root, string path, long maxBytes, out string? refusal)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(root), Path.GetFullPath(path));
        if (relative == "." || relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            refusal = "it is not below the job's work dir";
            return null;
        }

        var parts = relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var directory = OpenAt(AT_FDCWD, Path.GetFullPath(root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (directory < 0)
        {
            refusal = "the work dir cannot be opened: " + Describe(errno);
            return null;
        }

        try
        {
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var next = OpenAt(directory, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                var error = errno;
                close(directory);
                directory = next;
                if (directory < 0)
                {
                    // O_DIRECTORY with O_NOFOLLOW answers ENOTDIR for a link.
                    refusal = $"its directory {parts[i]} {(error == ENOTDIR || error == ELOOP ? "is a symbolic link or not a directory" : Describe(error))}";
                    return null;
                }
            }

            // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
            var fd = OpenAt(directory, parts[^1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0)
            {
                refusal = Describe(errno);
                return null;
            }

            var (kind, links, size) = Stat(fd);
            refusal = kind != (uint)S_IFREG ? "it is " + KindName(kind)
                : links != 1 ? $"it is a hard link ({links} names): its data may be another file's"
                : size > maxBytes ? $"{TooLargePrefix}{size} bytes, more than the {maxBytes} allowed"
                : null;
            if (refusal is not null)
            {
                close(fd);
                return null;
            }

            return new UntrustedFile(new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0), size, maxBytes);
        }
        finally
        {
            if (directory >= 0)
            {
                close(directory);
            }
        }
    }

    public static async Task<byte[]?> ReadAllBytesAsync(string root, string path, long maxBytes, CancellationToken ct)
    {
        using var file = Open(root, path, maxBytes, out _);
        return file is null ? null : await file.ReadAllAsync(ct);
    }

    /// <summary>For small files: a pid, a job message.</summary>
    public static byte[]? ReadAllBytes(string root, string path, long maxBytes)
    {
        using var file = Open(root, path, maxBytes, out _);
        return file?.ReadAllAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    public static bool IsRegularFile(string root, string path)
    {
        using var file = Open(root, path, long.MaxValue, out _);
        return file is not null;
    }

    private static unsafe int OpenAt(int directory, string name, int flags)
    {
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* pointer = bytes)
        {
            return openat(directory, pointer, flags);
        }
    }

    private static unsafe (uint Kind, uint Links, long Size) Stat(int fd)
    {
        statx buffer;
        var empty = stackalloc byte[1];
        empty[0] = 0;
        if (statx(fd, empty, AT_EMPTY_PATH, STATX_TYPE | STATX_NLINK | STATX_SIZE, &buffer) != 0)
        {
            return (0, 0, 0);
        }

        return (buffer.stx_mode & (uint)S_IFMT, buffer.stx_nlink, (long)buffer.stx_size);
    }

    private static string KindName(uint kind) => kind switch
    {
        _ when kind == (uint)S_IFDIR => "a directory",
        _ when kind == (uint)S_IFIFO => "a FIFO",
        _ when kind == (uint)S_IFSOCK => "a socket",
        _ when kind == (uint)S_IFCHR || kind == (uint)S_IFBLK => "a device",
        _ when kind == (uint)S_IFLNK => "a symbolic link",
        _ => "not a regular file",
    };

    private static string Describe(int error) => error switch
    {
        _ when error == ELOOP => "is a symbolic link",
        _ when error == ENOENT => NotFound,
        _ when error == ENOTDIR => "is not a directory",
        _ when error == ENXIO => "is a socket or a device",
        _ when error == EACCES => "cannot be read",
        _ => $"cannot be opened (errno {error})",
    };
}

/// <summary>An open file from <see cref="UntrustedFiles.Open"/>, whose reads stop at the caller's bound.</summary>
public sealed class UntrustedFile(FileStream stream, long length, long maxBytes) : IDisposable
{
    /// <summary>The size when opened: the target may still be writing it.</summary>
    public long Length { get; } = length;

    public Stream Stream => stream;

    public async Task<byte[]> ReadAllAsync(CancellationToken ct)
    {
        var buffer = new byte[Math.Min(Length, maxBytes)];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read == buffer.Length ? buffer : buffer[..read];
    }

    public void Dispose() => stream.Dispose();
}
