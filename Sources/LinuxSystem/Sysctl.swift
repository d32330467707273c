import Glibc

/// Reading and writing `/proc/sys` values (the kernel's IP forwarding switches).
public enum Sysctl {
    /// `net.ipv4.ip_forward`
    public static let ipv4Forwarding = "/proc/sys/net/ipv4/ip_forward"
    /// `net.ipv6.conf.all.forwarding`
    public static let ipv6Forwarding = "/proc/sys/net/ipv6/conf/all/forwarding"

    /// The value at `path` without surrounding whitespace.
    public static func read(_ path: String) throws(SystemError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path)", errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw SystemError("read \(path)", errno: errno) }
        return String(decoding: buffer[0..<n], as: UTF8.self).filter { !$0.isWhitespace }
    }

    /// Writes `value` to `path`.
    public static func write(_ path: String, _ value: String) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw SystemError("write \(path)", errno: errno) }
    }
}
