import Foundation
import NetworkTypes
import Policy
import Testing

/// The policy of the namespace lab: app hosts in nyc reach the db in fsn on 5432 only.
let labPolicy = """
    // Two regions; the app tier in nyc talks to the database in fsn.
    {
      "hosts": {
        "app-nyc": "10.10.10.100",
        "db-fsn": "10.20.10.100",
        "nyc-lan": "10.10.0.0/16",
        "fsn-lan": "10.20.0.0/16",
      },
      "ipsets": {"ipset:monitoring": ["10.10.10.200-10.10.10.210", "10.20.10.250"]},
      "groups": {"group:app": ["app-nyc", "ipset:monitoring"]},
      "tagOwners": {
        "tag:nyc": ["gw-nyc1-a", "gw-nyc1-b", "nyc-lan"],
        "tag:fsn": ["gw-fsn1-a", "gw-fsn1-b", "fsn-lan"],
      },
      "acls": [
        {"action": "accept", "src": ["group:app"], "dst": ["db-fsn:5432"], "proto": "tcp"},
        {"action": "accept", "src": ["tag:nyc"], "dst": ["db-fsn:*"], "proto": "icmp"},
      ],
      "grants": [
        {"src": ["ipset:monitoring"], "dst": ["tag:fsn"], "ip": ["tcp:9100", "udp:161-162"]},
      ],
      "autoApprovers": {"routes": {"10.10.0.0/16": ["tag:nyc"], "10.20.0.0/16": ["tag:fsn"]}},
      "tests": [
        {"src": "app-nyc", "accept": ["db-fsn:5432"], "deny": ["db-fsn:22"]},
        {"src": "db-fsn", "deny": ["app-nyc:5432"]},
        {"src": "app-nyc", "proto": "icmp", "accept": ["db-fsn"]},
      ],
    }
    """

@Suite struct PolicyParsingTests {
    func parse(_ text: String) throws(PolicyError) -> Policy { try Policy.parse(Array(text.utf8)) }

    func error(_ text: String) -> PolicyError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func labPolicyParsesWithCommentsAndTrailingCommas() throws {
        let policy = try parse(labPolicy)
        #expect(policy.ruleNames == ["acls[0]", "acls[1]", "grants[0]"])
        #expect(policy.tests.count == 3)
        #expect(policy.digest.count == 64)
        #expect(Set(policy.gatewayReferences.map(\.name)) == ["gw-nyc1-a", "gw-nyc1-b", "gw-fsn1-a", "gw-fsn1-b"])
    }

    @Test func decidesByFirstAcceptingRule() throws {
        let policy = try parse(labPolicy)
        let app = IPAddress("10.10.10.100")!
        let db = IPAddress("10.20.10.100")!
        #expect(policy.decide(source: app, destination: db, protocolNumber: 6, port: 5432)?.name == "acls[0]")
        #expect(policy.decide(source: app, destination: db, protocolNumber: 6, port: 22) == nil)
        #expect(policy.decide(source: db, destination: app, protocolNumber: 6, port: 5432) == nil)
        #expect(policy.decide(source: app, destination: db, protocolNumber: 1, port: 0)?.name == "acls[1]")
        let monitor = IPAddress("10.10.10.205")!
        #expect(policy.decide(source: monitor, destination: db, protocolNumber: 17, port: 161)?.name == "grants[0]")
        #expect(policy.decide(source: monitor, destination: db, protocolNumber: 17, port: 163) == nil)
        // A third region that no rule names.
        #expect(
            policy.decide(source: IPAddress("10.30.10.100")!, destination: db, protocolNumber: 6, port: 5432) == nil)
    }

    @Test func routeApprovalsFollowTags() throws {
        let policy = try parse(labPolicy)
        #expect(policy.approval(gateway: "gw-fsn1-a", prefix: IPPrefix("10.20.10.0/24")!) != nil)
        #expect(policy.approval(gateway: "gw-nyc1-a", prefix: IPPrefix("10.20.10.0/24")!) == nil)
        #expect(policy.approval(gateway: "gw-fsn1-a", prefix: IPPrefix("10.0.0.0/8")!) == nil)
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        #expect(
            error("{\n  \"acls\": [\n    {\"action\": \"accept\" \"src\": []}\n  ]\n}")?.position
                == SourcePosition(line: 3, column: 25))
        #expect(error("{\"hosts\": {\"a\": \"10.0.0.1\"}, \"hosts\": {}}")?.message.contains("duplicate key") == true)
        #expect(error("{/* never closed")?.message.contains("unterminated") == true)
        #expect(error(String(repeating: "[", count: 100))?.message.contains("nested deeper") == true)
    }

    @Test func unknownKeysAndUndefinedNamesAreRefusedWithPosition() {
        let unknown = error("{\n  \"ssh\": []\n}")
        #expect(unknown?.position == SourcePosition(line: 2, column: 3))
        #expect(unknown?.message.contains("unknown key \"ssh\"") == true)
        let undefined = error(
            "{\"acls\": [\n {\"action\": \"accept\", \"src\": [\"group:ap\"], \"dst\": [\"10.0.0.1:22\"]}]}")
        #expect(undefined?.position == SourcePosition(line: 2, column: 31))
        #expect(undefined?.message == "acls[0].src: \"group:ap\" is not defined")
        #expect(
            error("{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"10.0.0.1:22\"], \"ports\": 1}]}")?
                .message.contains("unknown key \"ports\"") == true)
    }

    @Test func valuesThatCannotBeMeantAreRefused() {
        // Deny rules: everything not accepted is denied already.
        #expect(
            error("{\"acls\": [{\"action\": \"deny\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}]}")?.message
                .contains("not supported") == true)
        // A port range upside down, a port on ICMP, an empty group, one flow both accepted and denied.
        #expect(error("{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"10.0.0.1:90-80\"]}]}") != nil)
        #expect(
            error(
                "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"10.0.0.1:22\"], \"proto\": \"icmp\"}]}"
            )
                != nil)
        #expect(
            error(
                "{\"groups\": {\"group:none\": []}, \"acls\": [{\"action\": \"accept\", \"src\": [\"group:none\"], \"dst\": [\"10.0.0.1:22\"]}]}"
            )?.message.contains("allows nothing") == true)
        #expect(
            error("{\"tests\": [{\"src\": \"10.0.0.1\", \"accept\": [\"10.0.0.2:22\"], \"deny\": [\"10.0.0.2:22\"]}]}")?
                .message.contains("both accept and deny") == true)
        #expect(error("{\"autoApprovers\": {\"routes\": {\"10.20.10.1/24\": [\"gw\"]}}}") != nil)
        #expect(error("{\"autoApprovers\": {\"exitNode\": [\"gw\"]}}") != nil)
    }

    @Test func failingTestsRefuseThePolicyAtTheExpectation() {
        // The third test expects ICMP from app-nyc to db-fsn to be denied, but acls[1] accepts it.
        let failing = labPolicy.replacingOccurrences(
            of: "\"proto\": \"icmp\", \"accept\": [\"db-fsn\"]", with: "\"proto\": \"icmp\", \"deny\": [\"db-fsn\"]")
        let refusal = error(failing)
        #expect(refusal?.message.contains("tests[2]") == true)
        #expect(refusal?.message.contains("accepted by acls[1]") == true)
        #expect(refusal?.position.line == 26)
    }

    @Test func ipv6TargetsAreBracketed() throws {
        let policy = try parse(
            "{\"acls\": [{\"action\": \"accept\", \"src\": [\"fd00:1::/64\"], \"dst\": [\"[fd00:2::10]:443\"], \"proto\": \"tcp\"}]}"
        )
        #expect(
            policy.decide(
                source: IPAddress("fd00:1::5")!, destination: IPAddress("fd00:2::10")!, protocolNumber: 6, port: 443)
                != nil)
        #expect(
            policy.decide(
                source: IPAddress("fd00:1::5")!, destination: IPAddress("fd00:2::11")!, protocolNumber: 6, port: 443)
                == nil)
    }
}

@Suite struct PolicyTablesTests {
    /// The tables decide every flow exactly as the rules do.
    @Test func tablesAgreeWithTheRules() throws {
        let policy = try Policy.parse(Array(labPolicy.utf8))
        let tables = try PolicyTables.compile(policy)
        let addresses = ["10.10.10.100", "10.10.10.99", "10.10.10.205", "10.20.10.100", "10.20.10.250", "10.30.1.1"]
            .map { IPAddress($0)! }
        let services: [(UInt8, UInt16)] = [
            (6, 5432), (6, 22), (6, 9100), (17, 161), (17, 5432), (1, 0), (58, 0), (47, 0),
        ]
        for source in addresses {
            for destination in addresses {
                for (number, port) in services {
                    let expected = policy.decide(
                        source: source, destination: destination, protocolNumber: number, port: port)?.name
                    #expect(
                        tables.decide(source: source, destination: destination, protocolNumber: number, port: port)
                            == expected, "\(source) → \(destination) \(number):\(port)")
                }
            }
        }
    }

    @Test func classesDoNotGrowWithAddressesThatBehaveAlike() throws {
        // 2,000 hosts in one group, all treated alike: one source class.
        var hosts: [String] = []
        for index in 0..<2000 { hosts.append("\"10.1.\(index / 250).\(index % 250 + 1)\"") }
        let text = """
            {"groups": {"group:many": [\(hosts.joined(separator: ","))]},
             "acls": [{"action": "accept", "src": ["group:many"], "dst": ["10.2.0.1:443"], "proto": "tcp"}]}
            """
        let tables = try PolicyTables.compile(try Policy.parse(Array(text.utf8)))
        #expect(Set(tables.sourceIntervals[.ipv4]!.map(\.classID)).count == 1)
        #expect(tables.allowed.count == 1)
    }

    @Test func tooManyCombinationsAreRefused() throws {
        let text = """
            {"acls": [
              {"action": "accept", "src": ["10.0.0.1", "10.0.0.3", "10.0.0.5"], "dst": ["10.1.0.1:1,3,5"], "proto": "tcp"},
              {"action": "accept", "src": ["10.0.0.1", "10.0.0.5"], "dst": ["10.1.0.1:1,5"], "proto": "tcp"}]}
            """
        #expect(throws: PolicyError.self) {
            try PolicyTables.compile(try Policy.parse(Array(text.utf8)), maximumTriples: 2)
        }
    }
}

extension PolicyTables {
    /// The tables' verdict for one flow, as the kernel computes it.
    func decide(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, port: UInt16) -> String? {
        func lookup(_ intervals: [Interval]?, _ value: UInt128) -> UInt32? {
            intervals?.first { $0.range.contains(value) }?.classID
        }
        guard let s = lookup(sourceIntervals[source.family], source.numericValue),
            let d = lookup(destinationIntervals[destination.family], destination.numericValue)
        else { return nil }
        let service: UInt32?
        if Policy.portProtocols.contains(protocolNumber) {
            service = lookup(portIntervals[protocolNumber], UInt128(port))
        } else {
            service = protocolClasses[protocolNumber]
        }
        guard let service, let rule = allowed[Triple(source: s, destination: d, service: service)] else { return nil }
        return ruleNames[rule]
    }
}

@Suite struct ShippedPolicyTests {
    @Test("the example policy that ships with the package and the image is valid and passes its tests")
    func examplePolicy() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("rootfs/etc/meshgate/policy.hujson.example").path
        let data = try #require(FileManager.default.contents(atPath: path))
        let compiled = try CompiledPolicy(bytes: Array(data), path: path)
        #expect(compiled.policy.ruleNames == ["acls[0]", "acls[1]", "grants[0]"])
        #expect(compiled.policy.approval(gateway: "gw-fsn1-a", prefix: IPPrefix("10.20.10.0/24")!) != nil)
        #expect(compiled.policy.approval(gateway: "gw-fsn1-a", prefix: IPPrefix("10.10.10.0/24")!) == nil)
    }
}
