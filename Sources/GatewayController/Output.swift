public import CryptoPrimitives
public import NetworkTypes
public import Routing

/// Which of the gateway's sockets a datagram travels on.
public enum Channel: Sendable, Hashable {
    /// Gateway-to-gateway control messages (hellos, adverts, key rotation) on ``GatewayController/controlPort``,
    /// bound to the overlay interface: only datagrams WireGuard authenticated arrive here.
    case control
    /// Probe answers and step-down requests on ``GatewayController/probePort``, bound to the overlay.
    case probePort
    /// Our own overlay probes: sent from the overlay address, answers come back to this socket.
    case overlayProbe
    /// HA hellos over the shared LAN (``LANHello``) on ``GatewayController/lanHelloPort``. Outputs name the
    /// member by its overlay address: the driver seals the frame for it and broadcasts it on the LAN.
    /// Inputs are hellos whose frame the driver opened and verified, from the member with that overlay address.
    case lanHello
}

/// A datagram the driver sends (outputs) or received (inputs).
public struct Datagram: Sendable, Hashable {
    public var channel: Channel
    public var bytes: [UInt8]
    /// Destination for outputs, source for inputs.
    public var peer: Endpoint

    public init(channel: Channel, bytes: [UInt8], peer: Endpoint) {
        self.channel = channel
        self.bytes = bytes
        self.peer = peer
    }
}

/// A value in an audit event.
public enum AuditValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)

    public var description: String {
        switch self {
        case .string(let s): s
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        }
    }
}

/// One operational event for the audit log (`docs/operations.md` lists them).
public struct AuditEvent: Sendable, Hashable {
    public var name: String
    public var fields: [String: AuditValue]

    public init(_ name: String, _ fields: [String: AuditValue] = [:]) {
        self.name = name
        self.fields = fields
    }
}

/// A line for the human log.
public struct LogLine: Sendable, Hashable {
    public enum Level: Sendable, Hashable { case debug, info, notice, warning, error, critical }
    public var level: Level
    public var message: String

    public init(_ level: Level, _ message: String) {
        self.level = level
        self.message = message
    }
}

/// What one ``GatewayController/step(now:inputs:)`` asks of the driver, besides the ``Intent``.
public struct Output: Sendable {
    public var datagrams: [Datagram] = []
    public var events: [AuditEvent] = []
    public var logs: [LogLine] = []
    /// Announce the virtual IP on the LAN now (gratuitous ARP / unsolicited NA).
    public var announceVirtualIP = false
    /// Peers that announced a new key: swap it in the engine keeping their sessions (before the next sync).
    public var peerKeyRotations: [(peer: String, old: Key32, new: Key32)] = []
    /// Planned or unplanned takeovers after start-up: the group, and how long it had no usable primary.
    public var failovers: [(group: String, withoutPrimary: Duration)] = []
    /// Answers to the requests among the inputs, in order.
    public var results: [RequestResult] = []
    /// End-to-end probes to send now: ICMP echo from `source` to `target`, the sequence in the payload.
    public var pathProbes: [PathProbe] = []
    /// Drill probe bursts a peer asked for (``BurstMessage``), and bursts to end now, by id.
    public var bursts: [BurstMessage.Request] = []
    /// Stops, with who sent them (only the asker may stop its burst).
    public var burstStops: [(id: UInt32, from: Endpoint)] = []

    public init() {}

    mutating func log(_ level: LogLine.Level, _ message: String) { logs.append(LogLine(level, message)) }
    mutating func audit(_ name: String, _ fields: [String: AuditValue]) { events.append(AuditEvent(name, fields)) }
}

/// One end-to-end probe (``GatewayController/pathProbeSource``).
public struct PathProbe: Sendable, Hashable {
    public var source: IPAddress
    public var target: IPAddress
    public var sequence: UInt32
}

/// The answer to one ``Request``.
public enum RequestResult: Sendable, Hashable {
    case done
    case refused(String)
    case reloaded(String)
    case unchanged
}

extension Timestamp {
    /// The later of two optional deadlines' earliest: `min` ignoring nils.
    static func earliest(_ candidates: [Timestamp?]) -> Timestamp? {
        candidates.compactMap { $0 }.min()
    }
}
