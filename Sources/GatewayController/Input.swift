public import CryptoPrimitives
public import GatewayConfig
public import NetworkTypes

/// Something that happened, for ``GatewayController/step(now:inputs:)``.
public enum Input: Sendable {
    /// A datagram that arrived on one of the gateway's sockets.
    case datagram(Datagram)
    /// The LAN interface's state (up with carrier), checked when ``GatewayController/lanCheckDue(now:)``.
    case lanHealth(Bool)
    /// Whether the WAN reaches the mesh (a route to a peer endpoint out of a live interface), checked with
    /// the LAN. A primary needs both: with the hellos also crossing the LAN, a primary cut off from the
    /// WAN would otherwise keep the role its partner could carry.
    case wanHealth(Bool)
    /// The engine's sessions, read when ``GatewayController/housekeepingDue(now:)``.
    case peerSessions(PeerSessions)
    /// Handshake outcomes reported by the engine since the last step, counted (a flood is many of one).
    case handshakes(HandshakeOutcome, count: Int)
    /// The result of the driver's last sync towards the ``Intent``: nil when it succeeded.
    case kernelSync(failure: String?)
    /// A new configuration (already parsed and validated) and the subnets connected on its LAN.
    case reload(GatewayConfiguration, connectedLAN: [IPPrefix])
    /// An operator's request through the control socket (drills, key rotation, stop).
    case request(Request)
    /// The forwarding switches and meshgate's nftables table as read back, once per housekeeping.
    case kernelObservation(KernelObservation)
    /// The LAN-side address path probes leave from (an address of ours inside an advertised subnet that
    /// is not the virtual IP), or nil when there is none; passed at start and after a reload.
    case pathProbeSource(IPAddress?)
    /// An ICMP echo reply to a path probe, by the sequence number its payload carries, and who sent it
    /// (counted only from the probe's target).
    case pathProbeAnswer(sequence: UInt32, from: IPAddress)
    /// A liveness round's result (``GatewayController/linkCheckDue(now:)``): what the engine knows of each
    /// watched peer's direct tunnel (absent: nothing).
    case linkActivity([String: DirectLinkActivity])
}

/// What the engine knows of one peer's direct tunnel at a liveness round.
public struct DirectLinkActivity: Sendable, Hashable {
    /// Since an authenticated message last came through it (nil: never).
    public var sinceHeard: Duration?
    /// Since data or a poll we sent through it has gone unanswered (nil: nothing waits for an answer).
    public var unansweredFor: Duration?

    public init(sinceHeard: Duration?, unansweredFor: Duration? = nil) {
        self.sinceHeard = sinceHeard
        self.unansweredFor = unansweredFor
    }
}

/// The engine's view of the peers' sessions at one moment.
public struct PeerSessions: Sendable, Hashable {
    /// Wall-clock seconds since 1970 (key expiry and handshake ages are wall-clock facts).
    public var wallSeconds: Int64
    /// The last completed handshake per peer name, in wall-clock seconds; absent or 0 when none.
    public var lastHandshake: [String: Int64]
    /// The endpoint each peer was last seen at, for the audit log.
    public var endpoints: [String: String]

    public init(wallSeconds: Int64, lastHandshake: [String: Int64], endpoints: [String: String] = [:]) {
        self.wallSeconds = wallSeconds
        self.lastHandshake = lastHandshake
        self.endpoints = endpoints
    }
}

public enum HandshakeOutcome: Sendable, Hashable {
    case completed
    case refused(reason: String)
    case timedOut
}

/// What an operator asked for. Drills are run by the driver (they measure with probes in real time);
/// what they change in the gateway's state goes through these.
public enum Request: Sendable, Hashable {
    /// This gateway gives up the primary role (a drill, or a planned stop).
    case stepDown
    /// Ask another member of our group to step down.
    case askToStepDown(member: String)
    /// Stop advertising one of our subnets (a withdrawal drill), or advertise it again.
    case suspendAdvertisement(IPPrefix)
    case resumeAdvertisement(IPPrefix)
    /// Announce `newPublicKey` to every peer until the live ones acknowledge or 2 s pass; the driver has
    /// written the private key first. Progress is ``GatewayController/keyRotation``.
    case beginKeyRotation(newPublicKey: Key32, livePeers: Set<String>)
    /// The driver switched the engine to the new key: it is ours now.
    case completeKeyRotation
    /// The rotation did not happen (a peer did not acknowledge, or the key file could not be replaced).
    case abandonKeyRotation
    /// Tell every peer we are leaving (the last thing a clean stop sends).
    case withdrawFromMesh
}
