public import CryptoPrimitives
import GatewayConfig
import NetworkTypes
public import Routing

/// A key rotation in progress: our new public key goes to every peer through the tunnel
/// (`MGKEYROT` + key on the control port) until each live peer answers `MGKEYACK` + key, or
/// ``acknowledgementTimeout`` passes. Peers swap our key keeping their sessions; once everyone live
/// acknowledged, the driver switches our private key (sessions kept) and completes the rotation.
/// Established transport keys do not depend on the static keys, so traffic never stops.
public struct KeyRotation: Sendable, Hashable {
    public static let announceMagic = Array("MGKEYROT".utf8)
    public static let acknowledgeMagic = Array("MGKEYACK".utf8)
    public static let acknowledgementTimeout: Duration = .seconds(2)
    public static let resendInterval: Duration = .milliseconds(100)

    public var newPublicKey: Key32
    /// Peers with a live tunnel when the rotation began: each must acknowledge.
    public var livePeers: Set<String>
    public var acknowledged: Set<String> = []
    public var startedAt: Timestamp
    var nextAnnouncementAt: Timestamp

    /// Every live peer acknowledged, or the time is up: the driver acts on ``missing``.
    public var isSettled: Bool
    /// Live peers that have not acknowledged.
    public var missing: Set<String> { livePeers.subtracting(acknowledged) }

    var nextDeadline: Timestamp? { isSettled ? nil : min(nextAnnouncementAt, startedAt + Self.acknowledgementTimeout) }
}

extension GatewayController {
    /// Announces the new key to peers that have not acknowledged it, every ``KeyRotation/resendInterval``.
    mutating func stepKeyRotation(now: Timestamp, out: inout Output) {
        guard var rotation = keyRotation, !rotation.isSettled else { return }
        defer { keyRotation = rotation }
        if rotation.missing.isEmpty || now >= rotation.startedAt + KeyRotation.acknowledgementTimeout {
            rotation.isSettled = true
            return
        }
        guard now >= rotation.nextAnnouncementAt else { return }
        rotation.nextAnnouncementAt = now + KeyRotation.resendInterval
        let announcement = KeyRotation.announceMagic + rotation.newPublicKey.bytes
        for peer in otherPeers where !rotation.acknowledged.contains(peer.name) {
            out.datagrams.append(
                Datagram(
                    channel: .control, bytes: announcement,
                    peer: .init(address: peer.overlayAddress, port: GatewayController.controlPort)))
        }
    }
}
