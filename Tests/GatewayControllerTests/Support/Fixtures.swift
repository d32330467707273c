import CryptoPrimitives
import GatewayConfig

/// Configurations of a small mesh: nyc1 (gw-a priority 200, gw-b 100, subnet 10.10.10.0/24) and fsn1
/// (gw-c alone, 10.20.10.0/24), sharing one peer list.
enum Fixtures {
    static func key(_ seed: UInt8) -> Key32 { Key32(bytes: (0..<32).map { seed &+ UInt8($0) })! }

    struct Gateway {
        var name: String
        var address: String
        var group: String
        var subnet: String
        var priority: Int
        var keySeed: UInt8
    }

    static let a = Gateway(
        name: "gw-a", address: "100.64.0.1", group: "nyc1", subnet: "10.10.10", priority: 200, keySeed: 1)
    static let b = Gateway(
        name: "gw-b", address: "100.64.0.2", group: "nyc1", subnet: "10.10.10", priority: 100, keySeed: 2)
    static let c = Gateway(
        name: "gw-c", address: "100.64.0.3", group: "fsn1", subnet: "10.20.10", priority: 200, keySeed: 3)
    static let all = [a, b, c]
    /// fsn1's standby, for meshes of four.
    static let d = Gateway(
        name: "gw-d", address: "100.64.0.4", group: "fsn1", subnet: "10.20.10", priority: 100, keySeed: 4)

    /// The configuration of `gateway`, with `ha` and `extraPeerLines` (per peer name) and `extra` appended.
    static func config(
        _ gateway: Gateway, mesh: [Gateway] = all, preempt: Bool = false, preemptDelay: String = "0s",
        peerExtras: [String: String] = [:], extra: String = "", advertise: [String]? = nil
    ) -> GatewayConfiguration {
        var peers = ""
        for peer in mesh {
            peers += """
                  - name: \(peer.name)
                    public_key: \(key(peer.keySeed).base64)
                    endpoint: 192.0.2.\(peer.keySeed):51820
                    overlay_address: \(peer.address)
                    group: \(peer.group)

                """
            if let more = peerExtras[peer.name] { peers += "    \(more)\n" }
        }
        let yaml = """
            node:
              name: \(gateway.name)
              private_key_file: /nonexistent/\(gateway.name).key
            overlay:
              interface: mg0
              address: \(gateway.address)
            advertise: [\((advertise ?? ["\(gateway.subnet).0/24"]).joined(separator: ", "))]
            ha:
              group: \(gateway.group)
              priority: \(gateway.priority)
              preempt: \(preempt)
              preempt_delay: \(preemptDelay)
              lan:
                interface: lan
                virtual_ip: \(gateway.subnet).1/24
            peers:
            \(peers)
            control:
              socket: /run/meshgate-test/\(gateway.name).sock
            \(extra)
            """
        switch GatewayConfiguration.parse(yaml: yaml) {
        case .success(let config): return config
        case .failure(let errors): fatalError("fixture config invalid: \(errors)\n\(yaml)")
        }
    }
}
