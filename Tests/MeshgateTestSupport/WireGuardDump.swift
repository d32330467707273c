/// The parsed output of `wg show INTERFACE dump` (wireguard-tools `show.c`, `dump_print`): a line for the
/// interface, then one tab-separated line per peer.
public struct WireGuardDump: Sendable, Equatable {
    /// One peer line: public-key, preshared-key, endpoint, allowed-ips, latest-handshake, transfer-rx,
    /// transfer-tx, persistent-keepalive.
    public struct Peer: Sendable, Equatable {
        public let publicKey: String
        /// Nil when `(none)`.
        public let presharedKey: String?
        /// `address:port` (IPv6 in brackets), nil when `(none)`.
        public let endpoint: String?
        public let allowedIPs: [String]
        /// Seconds since the Unix epoch of the latest handshake; 0 when there was none.
        public let latestHandshake: UInt64
        public let receivedBytes: UInt64
        public let transmittedBytes: UInt64
        /// Seconds, nil when `off`.
        public let persistentKeepalive: Int?
    }

    public let publicKey: String
    public let listenPort: UInt16
    public let peers: [Peer]

    /// The peer with `publicKey`, if configured.
    public func peer(_ publicKey: String) -> Peer? { peers.first { $0.publicKey == publicKey } }

    /// Parses `text`; throws ``LabError/unexpectedOutput(command:output:)`` if it is not a dump.
    public init(parsing text: String) throws {
        let lines = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        guard let device = lines.first, device.count == 4, let port = UInt16(device[2]) else {
            throw LabError.unexpectedOutput(command: "wg show dump", output: text)
        }
        self.publicKey = String(device[1])
        self.listenPort = port
        self.peers = try lines.dropFirst().map { fields in
            guard fields.count == 8, let handshake = UInt64(fields[4]), let rx = UInt64(fields[5]),
                let tx = UInt64(fields[6])
            else { throw LabError.unexpectedOutput(command: "wg show dump", output: text) }
            func optional(_ field: Substring) -> String? { field == "(none)" || field == "off" ? nil : String(field) }
            return Peer(
                publicKey: String(fields[0]), presharedKey: optional(fields[1]), endpoint: optional(fields[2]),
                allowedIPs: optional(fields[3]).map { $0.split(separator: ",").map(String.init) } ?? [],
                latestHandshake: handshake, receivedBytes: rx, transmittedBytes: tx,
                persistentKeepalive: optional(fields[7]).flatMap { Int($0) })
        }
    }
}
