import Foundation
import Glibc
import LinuxSystem

/// One structured JSON line per operational event on standard output (the journal keeps it apart from
/// the human log on standard error): `{"ts":"…","event":"…","node":"…",…}`.
///
/// Events: `peer_joined`, `peer_left`, `handshake_failed`, `route_advertised`, `route_withdrawn`,
/// `primary_changed`, `config_reloaded`, `config_rejected`, `key_rotated`, `key_expiring`, `key_expired`,
/// `forwarding_switched_off`, `ruleset_changed`, `health_problem` (raised or cleared), `flow_denied` (a packet
/// the policy or the input baseline dropped, rate-limited).
/// Safe for concurrent use.
public final class AuditLog: @unchecked Sendable {
    private let node: String
    private let lock = PThreadMutex()
    private let write: @Sendable (String) -> Void

    /// - Parameter write: where lines go: standard output, or the journal under its own identifier with
    ///   `MESHGATE_AUDIT_JOURNAL=1` (``JournalAuditSink``), unless a test captures them.
    public init(node: String, write: (@Sendable (String) -> Void)? = nil) {
        self.node = node
        self.write =
            write ?? JournalAuditSink.writer() ?? { line in
                let bytes = Array((line + "\n").utf8)
                _ = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            }
    }

    /// Records `event` with string, number or boolean fields.
    public func record(_ event: String, _ fields: [String: any Sendable] = [:]) {
        var object: [String: Any] = ["event": event, "node": node, "ts": Self.timestamp()]
        for (key, value) in fields { object[key] = value }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        let line = String(decoding: data, as: UTF8.self)
        lock.withLock { write(line) }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        let wall = SystemClock.wallTime()
        var seconds = time_t(wall.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
            Int(wall.nanoseconds / 1_000_000))
    }
}
