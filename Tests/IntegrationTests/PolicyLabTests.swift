// The least-privilege policy (issue 10) in the two-region lab, with real daemons, a real tunnel and the
// kernel's nf_tables: flows the policy allows pass, the rest is dropped and counted; a gateway that
// advertises a prefix it is not approved for is refused by the others; a bad policy is refused on reload
// with its line and the running one stays.

import Foundation
import MeshgateTestSupport
import Testing

@Suite(
    "least-privilege policy in the two-region lab", .serialized, .tags(.privileged), .requiresLab("nft", "python3"),
    .gatewayLab)
struct PolicyLabTests {
    var lab: GatewayLab {
        get throws { try #require(GatewayLabScope.current, "the suite's gateway lab is not up") }
    }

    /// host-nyc1 may reach host-fsn1 on TCP 5432 and ping it; nothing goes the other way; each region's
    /// pair may advertise only its own region's space.
    static let policy = """
        // Two regions; the app in nyc1 talks to the database in fsn1.
        {
          "hosts": {"app-nyc1": "10.10.10.100", "db-fsn1": "10.20.10.100"},
          "tagOwners": {
            "tag:nyc1": ["gw-nyc1-a", "gw-nyc1-b"],
            "tag:fsn1": ["gw-fsn1-a", "gw-fsn1-b"],
          },
          "acls": [
            {"action": "accept", "src": ["app-nyc1"], "dst": ["db-fsn1:5432"], "proto": "tcp"},
            {"action": "accept", "src": ["app-nyc1"], "dst": ["db-fsn1:*"], "proto": "icmp"},
          ],
          "autoApprovers": {"routes": {"10.10.0.0/16": ["tag:nyc1"], "10.20.0.0/16": ["tag:fsn1"]}},
          "tests": [
            {"src": "app-nyc1", "accept": ["db-fsn1:5432"], "deny": ["db-fsn1:22"]},
            {"src": "db-fsn1", "deny": ["app-nyc1:5432"]},
          ],
        }
        """

    func policyFile(_ lab: GatewayLab, _ gateway: LabGateway) -> String { "\(lab.directory(gateway))/policy.hujson" }

    /// Writes the policy next to every gateway's config, points the config at it and reloads.
    func enforce(_ lab: GatewayLab, _ text: String) async throws -> [LabGateway: String] {
        var originals: [LabGateway: String] = [:]
        for gateway in LabGateway.allCases {
            let original = try lab.readConfig(gateway)
            originals[gateway] = original
            try text.write(toFile: policyFile(lab, gateway), atomically: true, encoding: .utf8)
            try lab.writeConfig(gateway, original + "policy_file: \(policyFile(lab, gateway))\n")
            let reload = try await lab.reloadConfig(gateway)
            #expect(reload.succeeded, "\(gateway): \(reload)")
        }
        return originals
    }

    func restore(_ lab: GatewayLab, _ originals: [LabGateway: String]) async {
        for (gateway, original) in originals {
            try? lab.writeConfig(gateway, original)
            _ = try? await lab.reloadConfig(gateway)
        }
    }

    /// Runs `body` with `text` enforced on every gateway, and puts the configurations back however it ends.
    func withPolicy(_ lab: GatewayLab, _ text: String = PolicyLabTests.policy, _ body: () async throws -> Void)
        async throws
    {
        let originals = try await enforce(lab, text)
        do {
            try await body()
        } catch {
            await restore(lab, originals)
            throw error
        }
        await restore(lab, originals)
    }

    /// Whether a TCP connection from `region`'s host to `address`:`port` completes within 2 s, with a
    /// listener on the other region's host.
    func connects(
        _ lab: GatewayLab, from region: LabRegion, to address: String, port: Int, source: String? = nil
    ) async throws -> Bool {
        let listener = try lab.startHelper(
            in: lab.hostNamespace(region.other),
            [
                "python3", "-c",
                "import socket\nl=socket.socket()\nl.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\nl.bind(('0.0.0.0',\(port)))\nl.listen(4)\nl.settimeout(6)\ntry:\n  c,_=l.accept()\n  c.close()\nexcept OSError:\n  pass\n",
            ])
        defer { listener.send(signal: SIGTERM) }
        try await Task.sleep(for: .milliseconds(300))
        let result = try await lab.run(
            in: lab.hostNamespace(region),
            [
                "python3", "-c",
                "import socket,sys\ns=socket.socket()\n\(source.map { "s.bind(('\($0)',0))\n" } ?? "")s.settimeout(2)\ntry:\n  s.connect(('\(address)',\(port)))\nexcept OSError:\n  sys.exit(1)\n",
            ], timeout: .seconds(10), check: false)
        return result.succeeded
    }

    func pings(_ lab: GatewayLab, from region: LabRegion, to address: String) async throws -> Bool {
        try await lab.run(
            in: lab.hostNamespace(region), ["ping", "-c", "1", "-W", "2", address], timeout: .seconds(10), check: false
        ).succeeded
    }

    @Test("allowed flows cross the mesh, everything else is dropped and counted; status and metrics say so")
    func allowedAndDeniedFlows() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        #expect(try await lab.status(.fsn1a).policy == nil, "no policy yet")
        #expect(try await lab.scrapeMetrics(.fsn1a).value("meshgate_policy_enforced") == 0)
        #expect(try await connects(lab, from: .fsn1, to: LabRegion.nyc1.hostAddress, port: 5432), "baseline: open")

        try await withPolicy(lab) {
            let digests = Set(
                try await LabGateway.allCases.asyncMap { try await lab.status($0).policyDigest ?? "none" })
            #expect(digests.count == 1 && !digests.contains("none"), "\(digests)")

            let db = LabRegion.fsn1.hostAddress
            let app = LabRegion.nyc1.hostAddress
            #expect(try await connects(lab, from: .nyc1, to: db, port: 5432))
            #expect(try await !connects(lab, from: .nyc1, to: db, port: 22))
            #expect(try await !connects(lab, from: .fsn1, to: app, port: 5432))
            // A host in nyc1 that no rule names (a second address on the LAN host) reaches nothing.
            let unnamed = "10.10.10.150"
            try await lab.run(in: lab.hostNamespace(.nyc1), ["ip", "addr", "add", "\(unnamed)/24", "dev", "eth0"])
            let fromUnnamed = try await connects(lab, from: .nyc1, to: db, port: 5432, source: unnamed)
            try await lab.run(in: lab.hostNamespace(.nyc1), ["ip", "addr", "del", "\(unnamed)/24", "dev", "eth0"])
            #expect(!fromUnnamed, "a host no rule names reached db-fsn1:5432")
            #expect(try await pings(lab, from: .nyc1, to: db))
            #expect(try await !pings(lab, from: .fsn1, to: app))

            var accepted = 0.0
            var denied = 0.0
            for gateway in LabGateway.allCases {
                let metrics = try await lab.scrapeMetrics(gateway)
                #expect(metrics.value("meshgate_policy_enforced") == 1)
                accepted += metrics.value("meshgate_policy_packets_total", ["rule": "acls[0]"]) ?? 0
                denied += metrics.value("meshgate_policy_packets_total", ["rule": "default-deny"]) ?? 0
            }
            // The refused connection to port 22 is an audit event on the gateway that dropped it.
            var audited: AuditEvent?
            for gateway in LabGateway.allCases where audited == nil {
                audited = await lab.waitForAudit(gateway, timeout: .seconds(1)) {
                    $0.event == "flow_denied" && $0["port"] == "22" && $0["src"] == app && $0["dst"] == db
                }
            }
            #expect(audited?["rule"] == "default-deny", "\(String(describing: audited))")
            #expect(audited?["proto"] == "tcp")
            #expect(accepted >= 1, "the allowed connection was counted under acls[0]")
            #expect(denied >= 2, "the refused connection and ping were counted as default-deny")
            let listing = try await lab.run(
                in: lab.namespace(.fsn1a), ["nft", "list", "chain", "inet", "meshgate", "policy_forward"]
            ).standardOutput
            #expect(listing.contains("map @acl4 accept"), "\(listing)")
            // The whole table reads back with nft, the tunnel's own datagrams exempt from conntrack.
            let table = try await lab.run(in: lab.namespace(.fsn1a), ["nft", "list", "table", "inet", "meshgate"])
                .standardOutput
            #expect(table.contains("udp dport 51820 fib daddr type local notrack"), "\(table)")
            #expect(table.contains("udp sport 51820 notrack"), "\(table)")
        }
    }

    @Test("a bad policy, or one whose tests fail, is refused on reload with its line; the running one stays")
    func badPolicyIsRefused() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        try await withPolicy(lab) {
            let gateway = LabGateway.fsn1a
            let running = try await lab.status(gateway).policyDigest
            // The test says db-fsn1:22 is denied; this policy allows it.
            let opened = Self.policy.replacingOccurrences(
                of: "\"dst\": [\"db-fsn1:5432\"]", with: "\"dst\": [\"db-fsn1:*\"]")
            try opened.write(toFile: policyFile(lab, gateway), atomically: true, encoding: .utf8)
            let reload = try await lab.reloadConfig(gateway)
            #expect(!reload.succeeded)
            #expect(reload.standardError.contains("policy.hujson:"), "\(reload)")
            #expect(reload.standardError.contains("the test says deny"), "\(reload)")
            try "{\"acls\": [{\"action\": \"accept\", \"src\": [\"group:nobody\"], \"dst\": [\"*:*\"]}]}".write(
                toFile: policyFile(lab, gateway), atomically: true, encoding: .utf8)
            let undefined = try await lab.reloadConfig(gateway)
            #expect(!undefined.succeeded)
            #expect(undefined.standardError.contains("1:"), "\(undefined)")
            #expect(try await lab.status(gateway).policyDigest == running, "the running policy stays in force")
            #expect(try await connects(lab, from: .nyc1, to: LabRegion.fsn1.hostAddress, port: 5432))
        }
    }

    @Test("a gateway that advertises a prefix it is not approved for is refused by every other gateway")
    func unapprovedPrefixIsRefused() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        try await withPolicy(lab) {
            // gw-fsn1-b claims a subnet in nyc1's space.
            let hijacker = LabGateway.fsn1b
            let hijacked = "10.10.99.0/24"
            let config = try lab.readConfig(hijacker)
            try lab.writeConfig(
                hijacker,
                config.replacingOccurrences(
                    of: LabRegion.fsn1.advertiseLine,
                    with: "advertise: [\(LabRegion.fsn1.advertiseEntry), \(hijacked)]"))
            #expect(try lab.readConfig(hijacker).contains(hijacked), "the lab config spells advertise as expected")
            #expect(try await lab.reloadConfig(hijacker).succeeded)
            try await Task.sleep(for: .seconds(2))
            for gateway in LabGateway.allCases where gateway != hijacker {
                let routes = try await lab.meshgateRoutes(gateway).map(\.dst)
                #expect(!routes.contains(hijacked), "\(gateway) installed \(hijacked): \(routes)")
                let problems = try await lab.status(gateway).problems ?? []
                #expect(
                    problems.contains { $0.message.contains(hijacked) && $0.message.contains(hijacker.name) },
                    "\(gateway): \(problems)"
                )
                let refused = try await lab.scrapeMetrics(gateway).value(
                    "meshgate_routes_refused_total", ["reason": "not_approved"])
                #expect((refused ?? 0) >= 1, "\(gateway)")
            }
        }
    }
    /// A listener for one connection on `port` in `namespace`, started; stop it with SIGTERM.
    func listen(_ lab: GatewayLab, in namespace: String, port: Int) async throws -> ChildProcess {
        let listener = try lab.startHelper(
            in: namespace,
            [
                "python3", "-c",
                "import socket\nl=socket.socket()\nl.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\nl.bind(('0.0.0.0',\(port)))\nl.listen(4)\nl.settimeout(20)\nwhile True:\n  c,_=l.accept()\n  c.close()\n",
            ])
        try await Task.sleep(for: .milliseconds(300))
        return listener
    }

    func connects(_ lab: GatewayLab, in namespace: String, to address: String, port: Int) async throws -> Bool {
        try await lab.run(
            in: namespace,
            [
                "python3", "-c",
                "import socket,sys\ns=socket.socket()\ns.settimeout(2)\ntry:\n  s.connect(('\(address)',\(port)))\nexcept OSError:\n  sys.exit(1)\n",
            ], timeout: .seconds(10), check: false
        ).succeeded
    }

    /// A TCP transfer from host-nyc1 to host-fsn1:5432 for `seconds`, counted at both ends.
    struct Transfer {
        let server: ChildProcess
        let client: ChildProcess

        func finish() async -> (sent: Int, received: Int) {
            _ = await client.waitForExit(timeout: .seconds(40))
            _ = await server.waitForExit(timeout: .seconds(10))
            return (Int(client.standardOutput.trimmed) ?? -1, Int(server.standardOutput.trimmed) ?? -2)
        }
    }

    func startTransfer(_ lab: GatewayLab, seconds: Int) async throws -> Transfer {
        let server = try lab.startHelper(
            in: lab.hostNamespace(.fsn1),
            [
                "python3", "-c",
                "import socket\nl=socket.socket()\nl.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\nl.bind(('0.0.0.0',5432))\nl.listen(1)\nl.settimeout(30)\nc,_=l.accept()\nc.settimeout(30)\nt=0\nwhile True:\n  b=c.recv(65536)\n  if not b: break\n  t+=len(b)\nprint(t,flush=True)\n",
            ])
        try await Task.sleep(for: .milliseconds(300))
        let client = try lab.startHelper(
            in: lab.hostNamespace(.nyc1),
            [
                "python3", "-c",
                "import socket,time\ns=socket.create_connection(('\(LabRegion.fsn1.hostAddress)',5432),timeout=30)\nc=b'x'*8192\nt=0\nend=time.monotonic()+\(seconds)\nwhile time.monotonic()<end:\n  s.sendall(c)\n  t+=len(c)\n  time.sleep(0.005)\ns.shutdown(socket.SHUT_WR)\ns.recv(1)\nprint(t,flush=True)\n",
            ])
        return Transfer(server: server, client: client)
    }

    @Test("reloading a changed policy under traffic keeps an allowed transfer going")
    func allowedTransferSurvivesReload() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        try await withPolicy(lab) {
            let transfer = try await startTransfer(lab, seconds: 5)
            for round in 0..<3 {
                try await Task.sleep(for: .seconds(1))
                // Each round another rule: a new digest, a new table, swapped in one transaction.
                let changed = Self.policy.replacingOccurrences(
                    of: "\"acls\": [",
                    with:
                        "\"acls\": [{\"action\": \"accept\", \"src\": [\"db-fsn1\"], \"dst\": [\"app-nyc1:\(7000 + round)\"], \"proto\": \"udp\"},"
                )
                for gateway in LabGateway.allCases {
                    try changed.write(toFile: policyFile(lab, gateway), atomically: true, encoding: .utf8)
                    let reload = try await lab.reloadConfig(gateway)
                    #expect(reload.succeeded, "\(gateway): \(reload)")
                }
            }
            let (sent, received) = await transfer.finish()
            print("[policy reload] three reloads mid-transfer: sent \(sent) bytes, received \(received)")
            #expect(sent > 0, "client: \(transfer.client.standardError)")
            #expect(sent == received, "server: \(transfer.server.standardError)")
        }
    }

    @Test("an unplanned failover keeps an allowed TCP transfer going: the new primary picks it up mid-stream")
    func allowedTransferSurvivesFailover() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.fsn1])
        try await withPolicy(lab) {
            let transfer = try await startTransfer(lab, seconds: 7)
            try await Task.sleep(for: .seconds(2))
            try await lab.kill(primary)
            let (sent, received) = await transfer.finish()
            print("[policy failover] killed \(primary) mid-transfer: sent \(sent) bytes, received \(received)")
            #expect(sent > 0, "client: \(transfer.client.standardError)")
            #expect(sent == received, "server: \(transfer.server.standardError)")
            try await lab.start(primary)
        }
    }

    @Test("the input baseline drops what it should and leaves WireGuard, the HA pair and management sources open")
    func inputBaseline() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        let gateway = LabGateway.fsn1a
        let original = try lab.readConfig(gateway)
        let management = LabGateway.fsn1b
        let outsider = LabGateway.nyc1a
        let ssh = try await listen(lab, in: lab.namespace(gateway), port: 2222)
        let other = try await listen(lab, in: lab.namespace(gateway), port: 2223)
        defer {
            ssh.send(signal: SIGTERM)
            other.send(signal: SIGTERM)
        }
        // Before: everything reaches the gateway.
        #expect(try await connects(lab, in: lab.namespace(outsider), to: gateway.wanAddress, port: 2223))
        try lab.writeConfig(
            gateway,
            original
                + "firewall:\n  enabled: true\n  management_sources: [\(management.wanAddress)/32]\n  ssh_port: 2222\n")
        do {
            #expect(try await lab.reloadConfig(gateway).succeeded)
            #expect(try await connects(lab, in: lab.namespace(management), to: gateway.wanAddress, port: 2222))
            #expect(try await !connects(lab, in: lab.namespace(outsider), to: gateway.wanAddress, port: 2222))
            #expect(try await !connects(lab, in: lab.namespace(management), to: gateway.wanAddress, port: 2223))
            // The tunnel, the route protocol and the LAN hellos still pass: after a few hello and advert
            // rounds the pair agrees on one primary and LAN-to-LAN traffic crosses the mesh.
            try await Task.sleep(for: .seconds(3))
            #expect(try await lab.virtualIPHolders(.fsn1).count == 1)
            #expect(try await pings(lab, from: .nyc1, to: LabRegion.fsn1.hostAddress))
            #expect(try await lab.meshgateRoutes(gateway).map(\.dst).contains(LabRegion.nyc1.subnet))
            let dropped = try await lab.scrapeMetrics(gateway).value("meshgate_firewall_dropped_packets_total") ?? 0
            #expect(dropped >= 2, "the refused connections were counted")
            let chain = try await lab.run(
                in: lab.namespace(gateway), ["nft", "list", "chain", "inet", "meshgate", "input"])
            #expect(chain.standardOutput.contains("policy drop"), "\(chain.standardOutput)")
        } catch {
            try? lab.writeConfig(gateway, original)
            _ = try? await lab.reloadConfig(gateway)
            throw error
        }
        try lab.writeConfig(gateway, original)
        #expect(try await lab.reloadConfig(gateway).succeeded)
        #expect(try await connects(lab, in: lab.namespace(outsider), to: gateway.wanAddress, port: 2223))
    }

    @Test("a gateway whose policy differs from its peers' is reported by both sides")
    func policyMismatchIsReported() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        let gateway = LabGateway.fsn1a
        let original = try lab.readConfig(gateway)
        try Self.policy.write(toFile: policyFile(lab, gateway), atomically: true, encoding: .utf8)
        try lab.writeConfig(gateway, original + "policy_file: \(policyFile(lab, gateway))\n")
        #expect(try await lab.reloadConfig(gateway).succeeded)
        // Policy messages go out with every routes message (at most an advertise interval apart).
        var problems: [String] = []
        var seen: [String] = []
        for _ in 0..<50 {
            problems = try await lab.status(gateway).problems?.map(\.message) ?? []
            seen = try await lab.status(.nyc1a).problems?.map(\.message) ?? []
            if problems.contains(where: { $0.contains("gw-nyc1-a runs no policy") })
                && seen.contains(where: { $0.contains("gw-fsn1-a runs policy sha256") })
            {
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        try lab.writeConfig(gateway, original)
        #expect(try await lab.reloadConfig(gateway).succeeded)
        #expect(problems.contains { $0.contains("gw-nyc1-a runs no policy") }, "\(problems)")
        #expect(seen.contains { $0.contains("gw-fsn1-a runs policy sha256") }, "\(seen)")
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
