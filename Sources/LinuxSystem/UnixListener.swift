import CLinuxShims
import Glibc

/// A listening Unix stream socket at a filesystem path (the UAPI and control sockets).
///
/// The path is unlinked before binding (a stale socket from a killed process would block us) and on close.
public final class UnixListener: @unchecked Sendable {
    public let path: String
    public let descriptor: FileDescriptor

    /// Binds and listens at `path` with the given file mode (0600: only root may configure us).
    public init(path: String, mode: UInt32 = 0o600) throws(SystemError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemError("socket path too long: \(path)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let fd = try syscall("socket(AF_UNIX)") { socket(AF_UNIX, CLinuxShims_SOCK_STREAM_CLOEXEC, 0) }
        let descriptor = FileDescriptor(rawValue: fd)
        unlink(path)
        _ = try syscall("bind \(path)") {
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        chmod(path, mode_t(mode))
        _ = try syscall("listen \(path)") { listen(fd, 16) }
        self.path = path
        self.descriptor = descriptor
    }

    /// Accepts one connection (blocking); the returned descriptor times out reads after `timeoutSeconds`.
    public func accept(timeoutSeconds: Int = 5) throws(SystemError) -> FileDescriptor {
        let fd = try checkShim("accept \(path)", CLinuxShims_accept_cloexec(descriptor.rawValue))
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return FileDescriptor(rawValue: fd)
    }

    /// Stops listening and removes the path.
    public func close() {
        // shutdown() wakes a thread blocked in accept(); close alone does not.
        shutdown(descriptor.rawValue, Int32(SHUT_RDWR))
        descriptor.close()
        unlink(path)
    }
}

extension FileDescriptor {
    /// Reads what is available (up to `maximum` bytes); empty at end of stream or on timeout.
    public func readSome(maximum: Int = 4096) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(rawValue, $0.baseAddress, maximum) }
            if n < 0 && errno == EINTR { continue }
            return n > 0 ? Array(buffer[0..<n]) : []
        }
    }

    /// Writes all of `bytes`; false if the peer went away.
    @discardableResult
    public func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(rawValue, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

/// Creates `path` and its parents with mode 0755 if missing (like `mkdir -p`).
public func makeDirectories(_ path: String) {
    var current = ""
    for component in path.split(separator: "/") {
        current += "/" + component
        mkdir(current, 0o755)
    }
}
