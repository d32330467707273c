#if canImport(Glibc)
    import Glibc
#endif

/// A small file (a key, a preshared key) read with a size bound, following symlinks as `open(2)` does,
/// together with the permission bits of the file it reached.
public struct SmallFile: Sendable {
    /// The file's bytes as UTF-8 text.
    public let text: String
    /// `st_mode` of the file itself (after symlinks): what others may do with the key.
    public let mode: UInt32

    /// Why a small file could not be read.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case cannotOpen(String, errno: Int32)
        case notARegularFile(String)
        case tooLarge(String, size: Int, limit: Int)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let errno): "cannot read \(path): \(String(cString: strerror(errno)))"
            case .notARegularFile(let path): "\(path) is not a regular file"
            case .tooLarge(let path, let size, let limit):
                "\(path) is \(size) bytes; a key file holds at most \(limit)"
            }
        }
    }

    /// Reads `path` when it is a regular file of at most `limit` bytes; one `fstat` of the opened file,
    /// so the mode checked is the mode of what was read.
    public static func read(_ path: String, limit: Int = 4096) throws(Failure) -> SmallFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw .cannotOpen(path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(path, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile(path) }
        guard info.st_size <= limit else { throw .tooLarge(path, size: Int(info.st_size), limit: limit) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var count = 0
        while count < limit {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, limit - count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            count += n
        }
        return SmallFile(text: String(decoding: bytes[..<count], as: UTF8.self), mode: UInt32(info.st_mode))
    }
}
