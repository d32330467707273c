import Foundation
import Glibc

/// The audit log as its own journald stream: with `MESHGATE_AUDIT_JOURNAL=1` (the shipped unit sets it)
/// each audit line is sent to journald's native socket with `SYSLOG_IDENTIFIER=meshgated-audit` and
/// `MESHGATE_AUDIT=1`, so a SIEM shipper selects it with `journalctl -t meshgated-audit` (or the field)
/// while the human log keeps the unit's own identifier. A line the journal does not take goes to standard
/// output, as without the variable.
enum JournalAuditSink {
    static let socketPath = "/run/systemd/journal/socket"
    static let identifier = "meshgated-audit"

    /// The journal writer, or `nil` when the variable is unset or there is no journal socket.
    static func writer(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (@Sendable (String) -> Void)?
    {
        guard environment["MESHGATE_AUDIT_JOURNAL"] == "1", access(socketPath, W_OK) == 0 else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in socketPath.utf8.enumerated() { raw[i] = b }
        }
        let destination = address
        return { line in
            // Native protocol: KEY=value lines; JSON text carries no raw newline.
            let entry = Array(
                "SYSLOG_IDENTIFIER=\(identifier)\nMESHGATE_AUDIT=1\nPRIORITY=5\nMESSAGE=\(line)\n".utf8)
            var target = destination
            let sent = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                    entry.withUnsafeBytes {
                        sendto(fd, $0.baseAddress, $0.count, 0, addr, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
            if sent < 0 {
                let bytes = Array((line + "\n").utf8)
                _ = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            }
        }
    }
}
