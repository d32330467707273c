public import Foundation

/// The CLI↔daemon protocol on the control socket: one JSON request per line, one JSON response per line.
///
/// Versioned by ``ControlProtocol/version``; a daemon answers requests of a version it does not know with
/// an error naming both versions. Public types are plain `Codable` values so `--json` output is the
/// wire form.
public enum ControlProtocol {
    public static let version = 1
    /// Where `meshgated` listens unless the config says otherwise.
    public static let defaultSocketPath = "/run/meshgate/control.sock"
    /// The environment variable that overrides ``defaultSocketPath`` for the CLI.
    public static let socketEnvironmentVariable = "MESHGATE_SOCKET"
    /// The version of meshgate's software (`meshgate --version`, `meshgated --version`, build info metric).
    public static let softwareVersion = "0.1.0"
    /// The `schema_version` every `--json` output carries; raised when a field changes meaning or goes.
    public static let jsonSchemaVersion = 2

    /// `value` as the CLI prints it with `--json`: pretty, sorted keys, slashes unescaped, with
    /// `schema_version` added to the top-level object.
    public static func jsonOutput(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(JSONOutput(body: value))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A top-level JSON object with `schema_version` merged into the encoded body.
private struct JSONOutput<Body: Encodable>: Encodable {
    var body: Body

    private enum Keys: String, CodingKey { case schemaVersion = "schema_version" }

    func encode(to encoder: any Encoder) throws {
        try body.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(ControlProtocol.jsonSchemaVersion, forKey: .schemaVersion)
    }
}

/// A request from the CLI.
public enum ControlRequest: Codable, Sendable, Equatable {
    case status
    case routes
    case peers
    /// Step the primary of `group` down, measure convergence and LAN-to-LAN loss, restore unless `restore`
    /// is false; the drill fails when more than `maxLossPercent` of the probes were lost.
    case drillFailover(group: String, restore: Bool, maxLossPercent: Double? = nil)
    /// Withdraw `prefix` (one of ours) for `holdSeconds` (default: a moment), measure convergence,
    /// re-advertise.
    case drillWithdraw(prefix: String, holdSeconds: Int? = nil)
    /// Block the direct path to `peer` for `seconds`, measure the switch to a relay and the LAN-to-LAN
    /// outage, and unblock.
    case drillRelay(peer: String, seconds: Int)
    /// Re-read the config file and apply the difference.
    case reload
    /// Replace this gateway's private key; peers learn the new public key through the tunnel.
    case rotateKey
    /// Rotate the key while probing, and report the interruption.
    case drillKeyRotation
    /// The enforced policy file's text, as it was loaded (`meshgate policy diff`).
    case policySource
    /// `count` end-to-end probes to `target` (an address behind any region), with the path they take.
    case ping(target: String, count: Int)
    /// Hop by hop what the mesh would do with a packet from `source` to `destination` (`port/proto`).
    case explain(source: String, destination: String, port: Int?, proto: String?)
}

/// The envelope on the wire.
public struct ControlEnvelope<Body: Codable & Sendable>: Codable, Sendable {
    public var version: Int
    public var body: Body

    public init(_ body: Body) {
        self.version = ControlProtocol.version
        self.body = body
    }
}

/// A response: exactly one of `result` or `error`.
public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var error: String?
    public var status: StatusReport?
    public var routes: [RouteReport]?
    public var peers: [PeerReport]?
    public var drill: DrillReport?
    public var message: String?
    public var ping: PingReport?
    public var explain: ExplainReport?

    public init(
        ok: Bool = true, error: String? = nil, status: StatusReport? = nil, routes: [RouteReport]? = nil,
        peers: [PeerReport]? = nil, drill: DrillReport? = nil, message: String? = nil, ping: PingReport? = nil,
        explain: ExplainReport? = nil
    ) {
        self.ping = ping
        self.explain = explain
        self.ok = ok
        self.error = error
        self.status = status
        self.routes = routes
        self.peers = peers
        self.drill = drill
        self.message = message
    }

    public static func failure(_ message: String) -> ControlResponse { ControlResponse(ok: false, error: message) }
}

/// `meshgate status`.
public struct StatusReport: Codable, Sendable, Equatable {
    public var node: String
    public var version: String
    public var uptimeSeconds: Double
    public var overlayInterface: String
    public var overlayAddress: String
    public var listenPort: Int
    public var mtu: Int
    public var publicKey: String
    public var advertised: [String]
    public var forwarding: [String: Bool]
    public var mssClamp: Bool
    public var groups: [GroupReport]
    public var peersUp: Int
    public var peersTotal: Int
    public var routesInstalled: Int
    /// The enforced policy as `path (sha256 …, N rules)`; nil when none is (everything is forwarded).
    public var policy: String?
    /// The policy file's SHA-256, for comparing gateways.
    public var policyDigest: String?
    /// Whether the input baseline protects the gateway.
    public var firewall: Bool?
    /// The health verdict: `ok`, `warning` or `critical`.
    public var health: String?
    /// What needs an operator, worst first.
    public var problems: [ProblemReport]?

    public init(
        node: String, version: String, uptimeSeconds: Double, overlayInterface: String, overlayAddress: String,
        listenPort: Int, mtu: Int, publicKey: String, advertised: [String], forwarding: [String: Bool],
        mssClamp: Bool, groups: [GroupReport], peersUp: Int, peersTotal: Int, routesInstalled: Int
    ) {
        self.node = node
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.overlayInterface = overlayInterface
        self.overlayAddress = overlayAddress
        self.listenPort = listenPort
        self.mtu = mtu
        self.publicKey = publicKey
        self.advertised = advertised
        self.forwarding = forwarding
        self.mssClamp = mssClamp
        self.groups = groups
        self.peersUp = peersUp
        self.peersTotal = peersTotal
        self.routesInstalled = routesInstalled
    }
}

/// One health problem (`meshgate status`, `meshgate health`).
public struct ProblemReport: Codable, Sendable, Equatable {
    /// `forwarding_off`, `path_down`, … (the `kind` label of `meshgate_health_problems`).
    public var kind: String
    /// What it is about: an interface's sysctl, a subnet, a peer, a group.
    public var subject: String
    /// `warning` or `critical`.
    public var severity: String
    public var message: String
    public var hint: String
    /// When it was first seen (RFC 3339, UTC).
    public var since: String
    public var sinceSecondsAgo: Double

    public init(
        kind: String, subject: String, severity: String, message: String, hint: String, since: String,
        sinceSecondsAgo: Double
    ) {
        self.kind = kind
        self.subject = subject
        self.severity = severity
        self.message = message
        self.hint = hint
        self.since = since
        self.sinceSecondsAgo = sinceSecondsAgo
    }
}

/// One remote subnet's end-to-end probes (`meshgate routes`, `meshgate peers`).
public struct PathReport: Codable, Sendable, Equatable {
    public var subnet: String
    /// The host probed behind the subnet, and the LAN-side address the probes leave from.
    public var target: String
    public var source: String
    /// The gateway the probes go through.
    public var via: String
    public var up: Bool
    public var rttP50Milliseconds: Double?
    public var rttP95Milliseconds: Double?
    public var rttP99Milliseconds: Double?
    public var lossRatio: Double?

    public init(
        subnet: String, target: String, source: String, via: String, up: Bool, rttP50Milliseconds: Double?,
        rttP95Milliseconds: Double?, rttP99Milliseconds: Double?, lossRatio: Double?
    ) {
        self.subnet = subnet
        self.target = target
        self.source = source
        self.via = via
        self.up = up
        self.rttP50Milliseconds = rttP50Milliseconds
        self.rttP95Milliseconds = rttP95Milliseconds
        self.rttP99Milliseconds = rttP99Milliseconds
        self.lossRatio = lossRatio
    }
}

/// `meshgate ping`: the path a packet to the target takes, then one line per probe.
public struct PingReport: Codable, Sendable, Equatable {
    public var target: String
    /// The route the target falls in, and the gateway it goes to.
    public var route: String?
    public var via: String?
    public var tunnelUp: Bool
    public var lastHandshakeSecondsAgo: Double?
    public var source: String
    /// Per probe, in order: the RTT in milliseconds, or nil when it went unanswered within the timeout.
    public var rttMilliseconds: [Double?]
    public var sent: Int
    public var received: Int

    public init(
        target: String, route: String?, via: String?, tunnelUp: Bool, lastHandshakeSecondsAgo: Double?,
        source: String, rttMilliseconds: [Double?], sent: Int, received: Int
    ) {
        self.target = target
        self.route = route
        self.via = via
        self.tunnelUp = tunnelUp
        self.lastHandshakeSecondsAgo = lastHandshakeSecondsAgo
        self.source = source
        self.rttMilliseconds = rttMilliseconds
        self.sent = sent
        self.received = received
    }
}

/// `meshgate explain`: the hops a packet takes through the mesh, and the first that fails.
public struct ExplainReport: Codable, Sendable, Equatable {
    public struct Hop: Codable, Sendable, Equatable {
        /// The gateway (or `tunnel gw-a → gw-b`) this hop is at.
        public var at: String
        /// What is checked: `route`, `forwarding`, `tunnel`, `policy`, `path`, `nftables`.
        public var check: String
        public var ok: Bool
        public var detail: String

        public init(at: String, check: String, ok: Bool, detail: String) {
            self.at = at
            self.check = check
            self.ok = ok
            self.detail = detail
        }
    }
    public var source: String
    public var destination: String
    public var hops: [Hop]
    /// The first hop that fails, as one sentence; nil when every hop passes.
    public var verdict: String?

    public init(source: String, destination: String, hops: [Hop], verdict: String?) {
        self.source = source
        self.destination = destination
        self.hops = hops
        self.verdict = verdict
    }
}

/// An HA group as this gateway sees it.
public struct GroupReport: Codable, Sendable, Equatable {
    public var group: String
    public var role: String
    public var primary: String?
    public var term: UInt64
    public var lanHealthy: Bool
    public var virtualIP: String?
    public var members: [String]

    public init(
        group: String, role: String, primary: String?, term: UInt64, lanHealthy: Bool, virtualIP: String?,
        members: [String]
    ) {
        self.group = group
        self.role = role
        self.primary = primary
        self.term = term
        self.lanHealthy = lanHealthy
        self.virtualIP = virtualIP
        self.members = members
    }
}

/// One subnet in `meshgate routes`.
public struct RouteReport: Codable, Sendable, Equatable {
    public var subnet: String
    public var via: String?
    public var group: String?
    public var advertisers: [String]
    public var installed: Bool
    public var local: Bool
    public var lastChangeSeconds: Double?
    /// The subnet's end-to-end probes, when this gateway probes it.
    public var path: PathReport?

    public init(
        subnet: String, via: String?, group: String?, advertisers: [String], installed: Bool, local: Bool,
        lastChangeSeconds: Double?
    ) {
        self.subnet = subnet
        self.via = via
        self.group = group
        self.advertisers = advertisers
        self.installed = installed
        self.local = local
        self.lastChangeSeconds = lastChangeSeconds
    }
}

/// One peer in `meshgate peers`.
public struct PeerReport: Codable, Sendable, Equatable {
    public var name: String
    public var publicKey: String
    public var endpoint: String?
    public var overlayAddress: String
    public var up: Bool
    public var lastHandshakeSecondsAgo: Double?
    public var receivedBytes: UInt64
    public var transmittedBytes: UInt64
    public var rttP50Milliseconds: Double?
    public var rttP95Milliseconds: Double?
    public var rttP99Milliseconds: Double?
    public var probeLossRatio: Double?
    /// The end-to-end paths through this peer that this gateway probes.
    public var paths: [PathReport]?
    /// Whether the direct tunnel to the peer is alive both ways (keepalives heard, and it hears us).
    public var directLink: Bool?
    /// The gateway this peer's subnets go through while the direct link is down; nil: direct.
    public var via: String?
    /// Through the relay: our smoothed RTT to it plus the one it reports to the peer.
    public var relayedRTTMilliseconds: Double?

    public init(
        name: String, publicKey: String, endpoint: String?, overlayAddress: String, up: Bool,
        lastHandshakeSecondsAgo: Double?, receivedBytes: UInt64, transmittedBytes: UInt64,
        rttP50Milliseconds: Double? = nil, rttP95Milliseconds: Double? = nil, rttP99Milliseconds: Double? = nil,
        probeLossRatio: Double? = nil
    ) {
        self.name = name
        self.publicKey = publicKey
        self.endpoint = endpoint
        self.overlayAddress = overlayAddress
        self.up = up
        self.lastHandshakeSecondsAgo = lastHandshakeSecondsAgo
        self.receivedBytes = receivedBytes
        self.transmittedBytes = transmittedBytes
        self.rttP50Milliseconds = rttP50Milliseconds
        self.rttP95Milliseconds = rttP95Milliseconds
        self.rttP99Milliseconds = rttP99Milliseconds
        self.probeLossRatio = probeLossRatio
    }
}

/// The result of a drill.
public struct DrillReport: Codable, Sendable, Equatable {
    public var kind: String
    public var group: String?
    public var subnet: String?
    public var fromPrimary: String?
    public var toPrimary: String?
    /// nil when the drill did not converge within its timeout (see `verdict`).
    public var convergenceMilliseconds: Double?
    public var probesSent: Int
    public var probesLost: Int
    public var longestGapMilliseconds: Double
    public var restored: Bool
    public var notes: [String]
    /// The relay drill's peer, the relay that carried it, and the RTT through the relay.
    public var peer: String?
    public var via: String?
    public var relayedRTTMilliseconds: Double?
    /// Whether the drill met its bar (convergence, loss within `--max-loss`), and why not.
    public var passed: Bool?
    public var verdict: String?

    public init(
        kind: String, group: String? = nil, subnet: String? = nil, fromPrimary: String? = nil,
        toPrimary: String? = nil, convergenceMilliseconds: Double?, probesSent: Int, probesLost: Int,
        longestGapMilliseconds: Double, restored: Bool, notes: [String] = [], passed: Bool? = nil,
        verdict: String? = nil
    ) {
        self.passed = passed
        self.verdict = verdict
        self.kind = kind
        self.group = group
        self.subnet = subnet
        self.fromPrimary = fromPrimary
        self.toPrimary = toPrimary
        self.convergenceMilliseconds = convergenceMilliseconds
        self.probesSent = probesSent
        self.probesLost = probesLost
        self.longestGapMilliseconds = longestGapMilliseconds
        self.restored = restored
        self.notes = notes
    }
}
