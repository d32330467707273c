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
    public static let jsonSchemaVersion = 1

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
    /// Step the primary of `group` down, measure convergence and loss, restore unless `restore` is false.
    case drillFailover(group: String, restore: Bool)
    /// Withdraw `prefix` (one of ours) for a moment, measure convergence, re-advertise.
    case drillWithdraw(prefix: String)
    /// Re-read the config file and apply the difference.
    case reload
    /// Replace this gateway's private key; peers learn the new public key through the tunnel.
    case rotateKey
    /// Rotate the key while probing, and report the interruption.
    case drillKeyRotation
    /// The enforced policy file's text, as it was loaded (`meshgate policy diff`).
    case policySource
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

    public init(
        ok: Bool = true, error: String? = nil, status: StatusReport? = nil, routes: [RouteReport]? = nil,
        peers: [PeerReport]? = nil, drill: DrillReport? = nil, message: String? = nil
    ) {
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
    /// What needs an operator: refused routes, policy mismatches.
    public var problems: [String]?

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
    public var convergenceMilliseconds: Double
    public var probesSent: Int
    public var probesLost: Int
    public var longestGapMilliseconds: Double
    public var restored: Bool
    public var notes: [String]

    public init(
        kind: String, group: String? = nil, subnet: String? = nil, fromPrimary: String? = nil,
        toPrimary: String? = nil, convergenceMilliseconds: Double, probesSent: Int, probesLost: Int,
        longestGapMilliseconds: Double, restored: Bool, notes: [String] = []
    ) {
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
