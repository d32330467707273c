import CryptoPrimitives
import Dataplane
import GatewayConfig
import GatewayController
import LinuxSystem
import NetworkTypes
import Synchronization
import WireGuard

// MARK: - HA hellos over the LAN (GatewayController.LANHello)

extension Gateway {
    /// The LAN's broadcast address for the VIP's subnet, where the LAN hello frames go.
    static func lanBroadcast(of vip: IPPrefix) -> Endpoint? {
        guard case .v4(let address) = vip.address, vip.length < 31 else { return nil }
        let host = vip.length == 0 ? UInt32.max : (UInt32.max >> UInt32(vip.length))
        return Endpoint(address: .v4(IPv4Address(value: address.value | host)), port: GatewayController.lanHelloPort)
    }

    /// The pair key with the member at `overlay`, from our key and the member's current key (both follow
    /// rotations); cached per pair of public keys. Caller holds `lock`.
    func lanPairKey(with overlay: IPAddress) -> Key32? {
        guard let name = controller.config.peers.first(where: { $0.overlayAddress == overlay })?.name,
            let theirs = controller.peerKeys[name],
            let identity = device.engine.withLock({ $0.identity })
        else { return nil }
        if let cached = lanPairKeys[overlay], cached.ours == identity.publicKey, cached.theirs == theirs {
            return cached.key
        }
        guard let key = LANHello.pairKey(privateKey: identity.privateKey, peerPublicKey: theirs) else { return nil }
        lanPairKeys[overlay] = (identity.publicKey, theirs, key)
        return key
    }

    /// Seals a hello for the member the datagram names and broadcasts it on the LAN. Caller holds `lock`.
    func sendLANHello(_ datagram: Datagram) {
        guard let socket = lanHelloSocket, let vip = controller.config.ha?.lan.virtualIP,
            let broadcast = Gateway.lanBroadcast(of: vip), let key = lanPairKey(with: datagram.peer.address)
        else { return }
        let frame = LANHello.seal(
            datagram.bytes, from: controller.config.overlay.address, to: datagram.peer.address, key: key)
        socket.send(frame, to: broadcast)
    }

    /// The hello in a LAN frame, as a datagram from the member that sealed it; nil if it is not a frame for
    /// us from a member (anyone on the LAN can send to the port). Caller holds `lock`.
    func openLANHello(_ frame: [UInt8]) -> Datagram? {
        guard
            let (sender, hello) = LANHello.open(
                frame, receiver: controller.config.overlay.address, key: { lanPairKey(with: $0) })
        else { return nil }
        return Datagram(
            channel: .lanHello, bytes: hello, peer: Endpoint(address: sender, port: GatewayController.lanHelloPort))
    }
}
