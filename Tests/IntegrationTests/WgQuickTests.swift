import Foundation
import MeshgateTestSupport
import Testing

@Suite("wg-quick", .tags(.privileged, .interop), .requiresLab("wireguard-go", "wg-quick"))
struct WgQuickTests {
    @Test("wg-quick up starts meshgate-wg as its userspace implementation and wg-quick down stops it")
    func upAndDown() async throws {
        try await NetnsLab.withLab { lab in
            let peer = try await lab.startInterface(.wireguardGo, on: lab.a, listenPort: 51820)
            let name = lab.reserveInterfaceName(on: lab.b)
            let keys = try await lab.makeKeyPair()
            // No DNS (wg-quick would call resolvconf) and no /0 allowed IPs (wg-quick would add fwmark
            // rules, sysctl and iptables): the file exercises addresses, MTU, routes and `wg setconf`.
            let path = try lab.writeFile(
                "\(name).conf",
                """
                [Interface]
                Address = \(lab.b.innerAddress(.v4))/24, \(lab.b.innerAddress(.v6))/64
                PrivateKey = \(keys.privateKey)
                ListenPort = 51821

                [Peer]
                PublicKey = \(peer.publicKey)
                AllowedIPs = \(peer.innerAddress(.v4))/32, \(peer.innerAddress(.v6))/128
                Endpoint = \(peer.endpoint(.v4))

                """)
            let environment = ["WG_QUICK_USERSPACE_IMPLEMENTATION": lab.meshgateBinary, "LOG_LEVEL": "error"]

            try await lab.run(in: lab.b, ["wg-quick", "up", path], environment: environment)
            let quick = WireGuardInterface(
                implementation: .meshgate, name: name, node: lab.b, privateKey: keys.privateKey,
                publicKey: keys.publicKey, listenPort: 51821, process: nil)
            try await lab.addPeer(quick, to: peer)

            let daemons = ProcessTable.processes(commandLineContaining: name)
            #expect(daemons.count == 1, "processes serving \(name): \(daemons)")
            #expect(daemons.allSatisfy { $0.commandLine.contains("meshgate-wg") }, "\(daemons)")
            #expect(FileManager.default.fileExists(atPath: quick.socketPath))
            let dump = try await lab.dump(quick)
            #expect(dump.listenPort == 51821)
            #expect(dump.peer(peer.publicKey)?.endpoint == peer.endpoint(.v4))
            let mtu = try await lab.run(in: lab.b, ["cat", "/sys/class/net/\(name)/mtu"]).standardOutput.trimmed
            #expect(mtu == "1420", "wg-quick derives 1500 - 80 from the veth route")

            try await lab.waitUntilReachable(from: lab.b, to: peer.innerAddress(.v4))
            for family in IPFamily.allCases {
                let result = try await lab.ping(from: lab.b, to: peer.innerAddress(family), count: 3, interval: 0.05)
                #expect(result.lost == 0, "\(family): \(result)")
            }

            try await lab.run(in: lab.b, ["wg-quick", "down", path], environment: environment)
            let link = try await lab.run(in: lab.b, ["ip", "link", "show", name], check: false)
            #expect(!link.succeeded, "\(name) still exists after wg-quick down")

            // `wg-quick down` deletes the link; the daemon must notice, remove its socket and exit.
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline,
                FileManager.default.fileExists(atPath: quick.socketPath)
                    || daemons.contains(where: { ProcessTable.isAlive($0.pid) })
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(
                !FileManager.default.fileExists(atPath: quick.socketPath),
                "UAPI socket still present 5 s after wg-quick down")
            let survivors = daemons.filter { ProcessTable.isAlive($0.pid) }
            #expect(survivors.isEmpty, "still running 5 s after wg-quick down: \(survivors)")
        }
    }
}
