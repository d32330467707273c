import ControlProtocol
import Dataplane
import Foundation
import GatewayConfig
import GatewayController
import Glibc
import LinuxSystem
import NetworkTypes
import Routing
import Synchronization
import WireGuard

// MARK: - `meshgate explain` and `meshgate ping`

extension Gateway {
    /// How long `meshgate explain` waits for the far gateway's side.
    static let explainTimeout: Int32 = 1000
    /// How long `meshgate ping` waits for each echo reply, and the pause between probes.
    static let pingTimeout: Duration = .seconds(1)
    static let pingInterval: Duration = .milliseconds(200)

    func explain(source: String, destination: String, port: Int?, proto: String?) -> ControlResponse {
        guard let src = IPAddress(source), let dst = IPAddress(destination) else {
            return .failure("SRC and DST must be IP addresses (got \(source) and \(destination))")
        }
        let protocolNumber: UInt8? =
            switch proto {
            case "tcp": 6
            case "udp": 17
            default: nil
            }
        let flow = ExplainFlow(
            source: src, destination: dst, protocolNumber: protocolNumber, port: UInt16(clamping: port ?? 0))
        let now = Gateway.now()
        let (local, nextHop, address, overlay) = lock.withLock {
            let result = controller.explainIngress(flow, installed: kernel.installed, now: now)
            return (
                result.hops, result.nextHop,
                result.nextHop.flatMap { controller.config.peer(named: $0)?.overlayAddress },
                controller.config.overlay.address
            )
        }
        var hops = local
        if let nextHop, let address {
            if let far = askExplain(flow, at: address, from: overlay) {
                hops += far
            } else {
                hops.append(
                    ExplainHop(
                        at: nextHop, check: "answer", ok: false,
                        detail: "no answer to the explain query over the overlay within \(Gateway.explainTimeout) ms"))
            }
        }
        // The end-to-end probes only say that something on the way drops packets: a failing hop that
        // says what is the verdict, the probes are the evidence.
        let failing = hops.first { !$0.ok && $0.check != "path" } ?? hops.first { !$0.ok }
        return ControlResponse(
            explain: ExplainReport(
                source: source, destination: destination,
                hops: hops.map { ExplainReport.Hop(at: $0.at, check: $0.check, ok: $0.ok, detail: $0.detail) },
                verdict: failing.map { "the first failing hop is \($0.check) at \($0.at): \($0.detail)" }))
    }

    /// Asks the gateway at `address` (an overlay address) for its side of `flow`.
    private func askExplain(_ flow: ExplainFlow, at address: IPAddress, from overlay: IPAddress) -> [ExplainHop]? {
        guard let socket = try? DatagramSocket(port: 0, device: nil, bindAddress: overlay) else { return nil }
        defer { socket.close() }
        let id = UInt32.random(in: 1...UInt32.max)
        socket.send(
            ExplainMessage.query(id: id, flow: flow), to: Endpoint(address: address, port: GatewayController.probePort))
        let deadline = Gateway.now() + .milliseconds(Int64(Gateway.explainTimeout))
        while Gateway.now() < deadline {
            let left = deadline.duration(since: Gateway.now())
            guard socket.waitReadable(milliseconds: Int32(max(1, left.seconds * 1000))) else { continue }
            while let (bytes, source) = socket.receive() {
                guard source.address == address, let answer = ExplainMessage.parseAnswer(bytes), answer.id == id
                else { continue }
                return answer.hops
            }
        }
        return nil
    }

    func ping(target text: String, count: Int) -> ControlResponse {
        guard let target = IPAddress(text) else { return .failure("\(text) is not an IP address") }
        guard (1...100).contains(count) else { return .failure("count must be 1-100") }
        let now = Gateway.now()
        let snapshot = device.snapshot()
        let (route, via, up, key, source) = lock.withLock {
            let config = controller.config
            var route: String?
            var via: String?
            if let peer = config.peers.first(where: { $0.overlayAddress == target }) {
                route = "\(target)/\(target.isV4 ? 32 : 128)"
                via = peer.name
            } else if let match = controller.nextHop(toward: target) {
                route = match.prefix.description
                via = match.gateway
            }
            // From the LAN side when this gateway's probes are accepted there, else from the overlay address.
            let source =
                (controller.pathProbesAccepted ? pathProbeSocket?.source : nil) ?? config.overlay.address
            return (
                route, via, via.map { controller.peersUp.contains($0) } ?? false,
                via.flatMap { controller.peerKeys[$0] }, source
            )
        }
        let handshake = key.flatMap { key in snapshot.peers.first { $0.publicKey == key } }
            .flatMap {
                $0.lastHandshakeSeconds > 0 ? Date().timeIntervalSince1970 - Double($0.lastHandshakeSeconds) : nil
            }
        _ = now
        guard source.isV4 == target.isV4 else {
            return .failure("no \(target.isV4 ? "IPv4" : "IPv6") source address on this gateway to probe from")
        }
        let identifier =
            Gateway.pathProbeIdentifier &+ 1
            &+ UInt16(truncatingIfNeeded: pingCounter.add(1, ordering: .relaxed).newValue)
        guard let socket = try? ICMPEchoSocket(source: source, identifier: identifier) else {
            return .failure("cannot open an ICMP socket on \(source) (CAP_NET_RAW?)")
        }
        defer { socket.close() }
        var rtts: [Double?] = []
        for sequence in 0..<count {
            if sequence > 0 { Thread.sleep(forTimeInterval: Gateway.pingInterval.seconds) }
            let sent = Gateway.now()
            socket.send(sequence: UInt16(sequence), to: target, payload: Array("meshgate-ping".utf8))
            var rtt: Double?
            let deadline = sent + Gateway.pingTimeout
            while rtt == nil, Gateway.now() < deadline {
                let left = deadline.duration(since: Gateway.now())
                guard socket.waitReadable(milliseconds: Int32(max(1, left.seconds * 1000))) else { continue }
                while let reply = socket.receive() {
                    if reply.sequence == UInt16(sequence), reply.from == target {
                        rtt = Gateway.now().duration(since: sent).seconds * 1000
                    }
                }
            }
            rtts.append(rtt)
        }
        return ControlResponse(
            ping: PingReport(
                target: text, route: route, via: via, tunnelUp: up, lastHandshakeSecondsAgo: handshake,
                source: source.description, rttMilliseconds: rtts, sent: count, received: rtts.compactMap { $0 }.count))
    }
}
