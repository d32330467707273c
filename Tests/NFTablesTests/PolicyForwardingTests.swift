import Foundation
import NFTables
import Policy
import Testing

/// The forwarding lab's policy: the client may reach the server's TCP 5201 (IPv4 and IPv6) and ping it;
/// nothing else crosses the overlay, and nothing at all from the server's side.
let forwardingLabPolicy = """
    {
      "hosts": {
        "client": "10.91.1.2", "client6": "fd00:91:1::2",
        "server": "10.91.2.2", "server6": "fd00:91:2::2",
      },
      "groups": {"group:clients": ["client", "client6"]},
      "acls": [
        {"action": "accept", "src": ["group:clients"], "dst": ["server:5201", "server6:5201"], "proto": "tcp"},
        {"action": "accept", "src": ["client"], "dst": ["server:*"], "proto": "icmp"},
      ],
    }
    """

extension PrivilegedSuite {
    @Suite("the least-privilege policy in the kernel", .requiresRoot("python3", "ping", "conntrack"))
    struct PolicyForwardingTests {
        static func gatewayRuleset(_ text: String) throws -> GatewayRuleset {
            let tables = try CompiledPolicy(bytes: Array(text.utf8), path: "test").tables
            return GatewayRuleset(
                clamp: try MSSClampRuleset.forOverlay(interface: ForwardingLab.overlayInterface, mtu: 1280),
                policy: PolicyRuleset(tables: tables, overlayInterface: ForwardingLab.overlayInterface, logGroup: 7),
                firewall: nil)
        }

        @Test("allowed flows pass, everything else crossing the overlay is dropped and counted")
        func allowedAndDenied() throws {
            let lab = try ForwardingLab()
            defer { #expect(lab.remove() == []) }
            let socket = try lab.router.makeSocket()
            try socket.apply(Self.gatewayRuleset(forwardingLabPolicy))
            // nft itself can read back what we built.
            let listing = try lab.router.check("nft", "list", "table", "inet", MSSClampRuleset.defaultTableName)
            #expect(listing.contains("chain policy_forward"))
            #expect(listing.contains("counter acls_0"))
            #expect(listing.contains("ip saddr . ip daddr . meta l4proto . th dport map @acl4"), "\(listing)")

            #expect(try lab.tryConnect(from: lab.client, to: "10.91.2.2", port: 5201, listenOn: lab.server))
            #expect(try lab.tryConnect(from: lab.client, to: "fd00:91:2::2", port: 5201, listenOn: lab.server))
            #expect(try !lab.tryConnect(from: lab.client, to: "10.91.2.2", port: 5202, listenOn: lab.server))
            #expect(try !lab.tryConnect(from: lab.server, to: "10.91.1.2", port: 5201, listenOn: lab.client))
            #expect(try lab.ping(from: lab.client, "10.91.2.2"))
            #expect(try !lab.ping(from: lab.client, "fd00:91:2::2"), "the ICMP rule names only IPv4 client")
            #expect(try !lab.ping(from: lab.server, "10.91.1.2"))

            let counters = try socket.namedCounters(table: MSSClampRuleset.defaultTableName)
            #expect((counters["acls_0"]?.packets ?? 0) >= 2, "\(counters)")
            #expect((counters["acls_1"]?.packets ?? 0) >= 1, "\(counters)")
            #expect((counters[PolicyRuleset.denyCounter]?.packets ?? 0) >= 4, "\(counters)")
        }

        @Test("a TCP transfer keeps flowing across ruleset reloads and a conntrack flush (a new primary)")
        func establishedFlowSurvivesReloadAndPickup() throws {
            let lab = try ForwardingLab()
            defer { #expect(lab.remove() == []) }
            let socket = try lab.router.makeSocket()
            let ruleset = try Self.gatewayRuleset(forwardingLabPolicy)
            try socket.apply(ruleset)
            let transfer = try lab.startTransfer(to: "10.91.2.2", port: 5201, seconds: 4)
            for round in 0..<8 {
                usleep(400_000)
                try socket.apply(ruleset)
                // Twice, forget every connection: the next packet either way is a mid-stream pickup.
                if round == 2 || round == 5 { try lab.router.check("conntrack", "-F") }
            }
            let (sent, received) = try transfer.finish()
            #expect(sent > 0)
            #expect(sent == received, "the server got every byte the client sent")
        }

        @Test("a policy of 2,000 rules and 20,000 addresses loads in one transaction and still decides by lookup")
        func largePolicyLoads() throws {
            let lab = try ForwardingLab()
            defer { #expect(lab.remove() == []) }
            var hosts: [String] = []
            var acls: [String] = []
            for index in 0..<2000 {
                let addresses = (0..<10).map { "\"10.\(100 + index / 250).\(index % 250).\($0 * 10)\"" }
                hosts.append("\"ipset:s\(index)\": [\(addresses.joined(separator: ", "))]")
                acls.append(
                    "{\"action\": \"accept\", \"src\": [\"ipset:s\(index)\"], \"dst\": [\"10.91.2.2:\(10000 + index)\"], \"proto\": \"tcp\"}"
                )
            }
            acls.append(
                "{\"action\": \"accept\", \"src\": [\"10.91.1.2\"], \"dst\": [\"10.91.2.2:5201\"], \"proto\": \"tcp\"}")
            let text =
                "{\"ipsets\": {\(hosts.joined(separator: ",\n"))},\n\"acls\": [\(acls.joined(separator: ",\n"))]}"
            let socket = try lab.router.makeSocket()
            try socket.apply(Self.gatewayRuleset(text))
            #expect(try lab.tryConnect(from: lab.client, to: "10.91.2.2", port: 5201, listenOn: lab.server))
            #expect(try !lab.tryConnect(from: lab.client, to: "10.91.2.2", port: 10000, listenOn: lab.server))
            let counters = try socket.namedCounters(table: MSSClampRuleset.defaultTableName)
            #expect(counters.count == 2002)
            #expect((counters["acls_2000"]?.packets ?? 0) >= 1)
        }
    }
}

extension ForwardingLab {
    /// Whether a TCP connection from `client` to `address`:`port` completes within 2 s, with a listener
    /// on `port` in `server`.
    func tryConnect(from client: TestNamespace, to address: String, port: Int, listenOn server: TestNamespace)
        throws -> Bool
    {
        let listener = try BackgroundCommand([
            "ip", "netns", "exec", server.name, "python3", "-c",
            """
            import socket
            l = socket.socket(socket.AF_INET6)
            l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("::", \(port)))
            l.listen(4)
            print("listening", flush=True)
            l.settimeout(5)
            try:
                c, _ = l.accept()
                c.close()
            except socket.timeout:
                pass
            """,
        ])
        defer { listener.stop() }
        guard listener.wait(upTo: .seconds(20), until: { listener.standardOutput.contains("listening") }) else {
            throw ShellError(description: "listener did not start: \(listener.standardError)")
        }
        let family = address.contains(":") ? "AF_INET6" : "AF_INET"
        let result = try Shell.run(
            "ip", "netns", "exec", client.name, "python3", "-c",
            """
            import socket, sys
            s = socket.socket(socket.\(family))
            s.settimeout(2)
            try:
                s.connect(("\(address)", \(port)))
            except OSError:
                sys.exit(1)
            s.close()
            """)
        return result.status == 0
    }

    /// Whether one ping from `namespace` to `address` is answered within 2 s.
    func ping(from namespace: TestNamespace, _ address: String) throws -> Bool {
        try Shell.run("ip", "netns", "exec", namespace.name, "ping", "-c", "1", "-W", "2", address).status == 0
    }

    /// A client in `client` sending for `seconds` to a server in `server` that counts what it receives.
    final class Transfer {
        let server: BackgroundCommand
        let client: BackgroundCommand

        init(server: BackgroundCommand, client: BackgroundCommand) {
            self.server = server
            self.client = client
        }

        /// Bytes the client sent and the server received.
        func finish() throws -> (sent: Int, received: Int) {
            let sent = try client.waitForExit(upTo: .seconds(30))
            let received = try server.waitForExit(upTo: .seconds(30))
            return (
                Int(sent.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1,
                Int(received.standardOutput.split(separator: "\n").last.map(String.init) ?? "") ?? -2
            )
        }
    }

    func startTransfer(to address: String, port: Int, seconds: Int) throws -> Transfer {
        let listener = try BackgroundCommand([
            "ip", "netns", "exec", server.name, "python3", "-c",
            """
            import socket
            l = socket.socket(socket.AF_INET)
            l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("0.0.0.0", \(port)))
            l.listen(1)
            print("listening", flush=True)
            l.settimeout(20)
            c, _ = l.accept()
            c.settimeout(20)
            total = 0
            while True:
                b = c.recv(65536)
                if not b:
                    break
                total += len(b)
            print(total, flush=True)
            """,
        ])
        guard listener.wait(upTo: .seconds(20), until: { listener.standardOutput.contains("listening") }) else {
            throw ShellError(description: "listener did not start: \(listener.standardError)")
        }
        let client = try BackgroundCommand([
            "ip", "netns", "exec", self.client.name, "python3", "-c",
            """
            import socket, time
            s = socket.create_connection(("\(address)", \(port)), timeout=20)
            chunk = b"x" * 16384
            total = 0
            end = time.monotonic() + \(seconds)
            while time.monotonic() < end:
                s.sendall(chunk)
                total += len(chunk)
                time.sleep(0.002)
            s.shutdown(socket.SHUT_WR)
            s.recv(1)
            s.close()
            print(total, flush=True)
            """,
        ])
        return Transfer(server: listener, client: client)
    }
}
