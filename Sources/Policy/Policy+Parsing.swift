internal import CryptoPrimitives
internal import NetworkTypes

extension Policy {
    /// The largest policy file read: far above 10,000 rules and 50,000 addresses, far below a memory problem.
    public static let maximumFileBytes = 32 << 20

    static let topLevelKeys = ["hosts", "ipsets", "groups", "tagOwners", "acls", "grants", "autoApprovers", "tests"]

    /// Parses and checks a policy file: syntax, unknown keys, undefined names, values that cannot be meant,
    /// and the `tests`, which must all pass.
    ///
    /// - Throws: the first ``PolicyError``, with its line and column.
    public static func parse(_ bytes: [UInt8]) throws(PolicyError) -> Policy {
        let policy = try parseWithoutTests(bytes)
        if let failure = policy.testFailures().first { throw failure }
        return policy
    }

    /// Parses and checks everything but the `tests` (``testFailures()`` runs them).
    public static func parseWithoutTests(_ bytes: [UInt8]) throws(PolicyError) -> Policy {
        guard bytes.count <= maximumFileBytes else {
            throw PolicyError(SourcePosition(line: 1, column: 1), "the file is larger than \(maximumFileBytes) bytes")
        }
        let root = try HuJSONParser.parse(bytes)
        var reader = PolicyReader()
        return try reader.read(root, digest: SHA256.hexDigest(bytes))
    }
}

/// Turns the HuJSON tree into a ``Policy``, resolving names as it goes.
struct PolicyReader {
    var hosts: [String: AddressRanges] = [:]
    var ipsets: [String: AddressRanges] = [:]
    var groups: [String: AddressRanges] = [:]
    var tagAddresses: [String: AddressRanges] = [:]
    var tagGateways: [String: Set<String>] = [:]
    var gatewayReferences: [(name: String, position: SourcePosition)] = []

    mutating func read(_ root: HuJSONNode, digest: String) throws(PolicyError) -> Policy {
        let members = try object(root, "the policy")
        for member in members where !Policy.topLevelKeys.contains(member.key) {
            throw PolicyError(
                member.keyPosition,
                "unknown key \"\(member.key)\" (a meshgate policy has \(Policy.topLevelKeys.joined(separator: ", ")))")
        }
        func section(_ key: String) -> HuJSONNode? { members.first { $0.key == key }?.value }
        // Definitions first, in dependency order, wherever they are in the file.
        if let node = section("hosts") { try readHosts(node) }
        if let node = section("ipsets") { try readNamedSets(node, prefix: "ipset:", into: \.ipsets, what: "ipsets") }
        if let node = section("groups") { try readNamedSets(node, prefix: "group:", into: \.groups, what: "groups") }
        if let node = section("tagOwners") { try readTags(node) }
        var rules: [Policy.Rule] = []
        if let node = section("acls") {
            for (index, entry) in try array(node, "acls").enumerated() { rules += try readACL(entry, index: index) }
        }
        if let node = section("grants") {
            for (index, entry) in try array(node, "grants").enumerated() {
                rules.append(try readGrant(entry, index: index))
            }
        }
        let approvals = try section("autoApprovers").map { node throws(PolicyError) in try readApprovers(node) } ?? []
        var tests: [Policy.Test] = []
        if let node = section("tests") {
            for (index, entry) in try array(node, "tests").enumerated() {
                tests.append(try readTest(entry, index: index))
            }
        }
        return Policy(
            rules: rules, routeApprovals: approvals, tests: tests, gatewayReferences: gatewayReferences, digest: digest)
    }

    // MARK: - Definitions

    mutating func readHosts(_ node: HuJSONNode) throws(PolicyError) {
        for member in try object(node, "hosts") {
            let name = member.key
            guard Self.isPlainName(name), IPAddress(name) == nil else {
                throw PolicyError(
                    member.keyPosition,
                    "hosts: \"\(name)\" is not a valid host name (letters, digits, '.', '-', '_'; not an address)")
            }
            let text = try string(member.value, "hosts.\(name)")
            guard let ranges = Self.literal(text) else {
                throw PolicyError(member.value.position, "hosts.\(name): \"\(text)\" is not an address or prefix")
            }
            hosts[name] = ranges
        }
    }

    mutating func readNamedSets(
        _ node: HuJSONNode, prefix: String, into keyPath: WritableKeyPath<PolicyReader, [String: AddressRanges]>,
        what: String
    ) throws(PolicyError) {
        for member in try object(node, what) {
            guard member.key.hasPrefix(prefix), Self.isPlainName(String(member.key.dropFirst(prefix.count))) else {
                throw PolicyError(member.keyPosition, "\(what): \"\(member.key)\" must be named \(prefix)NAME")
            }
            var ranges = AddressRanges()
            for entry in try array(member.value, "\(what).\(member.key)") {
                let text = try string(entry, "\(what).\(member.key)")
                // A group may hold ipsets; an ipset holds hosts and literals only, so definitions cannot loop.
                guard let resolved = resolveDefined(text, allowIPSets: prefix == "group:") else {
                    throw PolicyError(entry.position, "\(what).\(member.key): \"\(text)\" is not defined")
                }
                ranges.formUnion(resolved)
            }
            self[keyPath: keyPath][member.key] = ranges
        }
    }

    /// `tagOwners`: here the policy itself assigns tags (there is no control server). A member is an
    /// address, prefix, host or ipset (the tag then names those addresses in rules) or a gateway's name
    /// (the tag then names that gateway in `autoApprovers`).
    mutating func readTags(_ node: HuJSONNode) throws(PolicyError) {
        for member in try object(node, "tagOwners") {
            guard member.key.hasPrefix("tag:"), Self.isPlainName(String(member.key.dropFirst(4))) else {
                throw PolicyError(member.keyPosition, "tagOwners: \"\(member.key)\" must be named tag:NAME")
            }
            var ranges = AddressRanges()
            var gateways: Set<String> = []
            for entry in try array(member.value, "tagOwners.\(member.key)") {
                let text = try string(entry, "tagOwners.\(member.key)")
                if let resolved = resolveDefined(text, allowIPSets: true) {
                    ranges.formUnion(resolved)
                } else if Self.isPlainName(text) {
                    gateways.insert(text)
                    gatewayReferences.append((text, entry.position))
                } else {
                    throw PolicyError(entry.position, "tagOwners.\(member.key): \"\(text)\" is not defined")
                }
            }
            tagAddresses[member.key] = ranges
            tagGateways[member.key] = gateways
        }
    }

    // MARK: - Rules

    mutating func readACL(_ node: HuJSONNode, index: Int) throws(PolicyError) -> [Policy.Rule] {
        let name = "acls[\(index)]"
        let fields = try fields(
            node, name, allowed: ["action", "src", "dst", "proto"], required: ["action", "src", "dst"])
        let action = try string(fields["action"]!, "\(name).action")
        guard action == "accept" else {
            throw PolicyError(
                fields["action"]!.position,
                "\(name).action: \"\(action)\" is not supported: rules only accept, everything else is denied")
        }
        let sources = try targets(fields["src"]!, "\(name).src")
        var protocols: [UInt8?] = [6, 17, 1, 58]  // No proto: TCP and UDP on the ports, and ICMP (as Tailscale).
        if let node = fields["proto"] {
            let text = try string(node, "\(name).proto")
            guard let numbers = Policy.protocolNumbers(text) else {
                throw PolicyError(node.position, "\(name).proto: unknown protocol \"\(text)\"")
            }
            protocols = numbers
        }
        var rules: [Policy.Rule] = []
        for entry in try array(fields["dst"]!, "\(name).dst", nonEmpty: true) {
            let text = try string(entry, "\(name).dst")
            guard let colon = Self.portSeparator(text) else {
                throw PolicyError(entry.position, "\(name).dst: \"\(text)\" must be TARGET:PORTS (e.g. db:5432, web:*)")
            }
            let target = Self.unbracketed(String(text[..<colon]))
            let portText = String(text[text.index(after: colon)...])
            guard let destinations = resolve(target) else {
                throw PolicyError(entry.position, "\(name).dst: \"\(target)\" is not defined")
            }
            guard let ports = Self.ports(portText) else {
                throw PolicyError(
                    entry.position, "\(name).dst: \"\(portText)\" is not a port list (*, 22, 80,443, 1000-2000)")
            }
            var services: [Policy.Service] = []
            for number in protocols {
                guard let number, Policy.portProtocols.contains(number) else {
                    if fields["proto"] != nil, ports != [0...UInt16.max] {
                        throw PolicyError(
                            entry.position, "\(name).dst: \"\(text)\": this protocol has no ports; write \(target):*")
                    }
                    services.append(Policy.Service(protocolNumber: number))
                    continue
                }
                services += ports.map { Policy.Service(protocolNumber: number, ports: $0) }
            }
            guard !destinations.isEmpty else {
                throw PolicyError(
                    entry.position, "\(name).dst: \"\(target)\" names no address, so the rule allows nothing")
            }
            rules.append(
                Policy.Rule(
                    name: name, position: node.position, sources: sources, destinations: destinations,
                    services: services))
        }
        return rules
    }

    mutating func readGrant(_ node: HuJSONNode, index: Int) throws(PolicyError) -> Policy.Rule {
        let name = "grants[\(index)]"
        let fields = try fields(node, name, allowed: ["src", "dst", "ip"], required: ["src", "dst", "ip"])
        let sources = try targets(fields["src"]!, "\(name).src")
        let destinations = try targets(fields["dst"]!, "\(name).dst")
        var services: [Policy.Service] = []
        for entry in try array(fields["ip"]!, "\(name).ip", nonEmpty: true) {
            let text = try string(entry, "\(name).ip")
            guard let parsed = Self.capability(text) else {
                throw PolicyError(
                    entry.position, "\(name).ip: \"\(text)\" is not PROTO:PORTS, PORTS or * (e.g. tcp:5432, icmp:*)")
            }
            services += parsed
        }
        return Policy.Rule(
            name: name, position: node.position, sources: sources, destinations: destinations, services: services)
    }

    /// A `src`/`dst` list of targets, resolved; it must name at least one address.
    func targets(_ node: HuJSONNode, _ path: String) throws(PolicyError) -> AddressRanges {
        var ranges = AddressRanges()
        for entry in try array(node, path, nonEmpty: true) {
            let text = try string(entry, path)
            guard let resolved = resolve(Self.unbracketed(text)) else {
                throw PolicyError(entry.position, "\(path): \"\(text)\" is not defined")
            }
            ranges.formUnion(resolved)
        }
        guard !ranges.isEmpty else {
            throw PolicyError(node.position, "\(path) names no address, so the rule allows nothing")
        }
        return ranges
    }

    // MARK: - Route approvals and tests

    mutating func readApprovers(_ node: HuJSONNode) throws(PolicyError) -> [Policy.RouteApproval] {
        var approvals: [Policy.RouteApproval] = []
        for member in try object(node, "autoApprovers") {
            guard member.key == "routes" else {
                throw PolicyError(
                    member.keyPosition,
                    "autoApprovers.\(member.key) is not supported (meshgate approves routes only; it has no exit nodes)"
                )
            }
            for route in try object(member.value, "autoApprovers.routes") {
                guard case .success(let prefix) = IPPrefix.parse(route.key), prefix.isCanonical else {
                    throw PolicyError(
                        route.keyPosition, "autoApprovers.routes: \"\(route.key)\" is not a canonical prefix")
                }
                var gateways: Set<String> = []
                for entry in try array(route.value, "autoApprovers.routes.\(route.key)", nonEmpty: true) {
                    let text = try string(entry, "autoApprovers.routes.\(route.key)")
                    if text.hasPrefix("tag:") {
                        guard let tagged = tagGateways[text] else {
                            throw PolicyError(
                                entry.position, "autoApprovers.routes.\(route.key): \"\(text)\" is not defined")
                        }
                        gateways.formUnion(tagged)
                    } else if Self.isPlainName(text), hosts[text] == nil {
                        gateways.insert(text)
                        gatewayReferences.append((text, entry.position))
                    } else {
                        throw PolicyError(
                            entry.position,
                            "autoApprovers.routes.\(route.key): \"\(text)\" is not a gateway or tag:NAME")
                    }
                }
                approvals.append(Policy.RouteApproval(prefix: prefix, gateways: gateways, position: route.keyPosition))
            }
        }
        return approvals
    }

    func readTest(_ node: HuJSONNode, index: Int) throws(PolicyError) -> Policy.Test {
        let name = "tests[\(index)]"
        let fields = try fields(node, name, allowed: ["src", "proto", "accept", "deny"], required: ["src"])
        let sourceText = try string(fields["src"]!, "\(name).src")
        guard let source = resolve(Self.unbracketed(sourceText))?.first else {
            throw PolicyError(fields["src"]!.position, "\(name).src: \"\(sourceText)\" is not defined")
        }
        var protocolNumber: UInt8 = 6
        if let node = fields["proto"] {
            let text = try string(node, "\(name).proto")
            guard let numbers = Policy.protocolNumbers(text), let first = numbers.first else {
                throw PolicyError(node.position, "\(name).proto: unknown protocol \"\(text)\"")
            }
            protocolNumber = first
        }
        var expectations: [Policy.Expectation] = []
        var seen: [String: Bool] = [:]
        for (key, accept) in [("accept", true), ("deny", false)] {
            guard let list = fields[key] else { continue }
            for entry in try array(list, "\(name).\(key)") {
                let text = try string(entry, "\(name).\(key)")
                if let earlier = seen[text], earlier != accept {
                    throw PolicyError(entry.position, "\(name): \"\(text)\" is in both accept and deny")
                }
                seen[text] = accept
                var target = Self.unbracketed(text)
                var port: UInt16 = 0
                if let colon = Self.portSeparator(text) {
                    target = Self.unbracketed(String(text[..<colon]))
                    guard let value = UInt16(text[text.index(after: colon)...]) else {
                        throw PolicyError(
                            entry.position, "\(name).\(key): \"\(text)\" must be TARGET:PORT with one port")
                    }
                    port = value
                } else if Policy.portProtocols.contains(protocolNumber) {
                    throw PolicyError(entry.position, "\(name).\(key): \"\(text)\" needs a port (TARGET:PORT)")
                }
                guard let destination = resolve(target)?.first else {
                    throw PolicyError(entry.position, "\(name).\(key): \"\(target)\" is not defined")
                }
                expectations.append(
                    Policy.Expectation(
                        text: text, position: entry.position, destination: destination, port: port, accept: accept))
            }
        }
        return Policy.Test(
            name: name, position: node.position, source: source, sourceText: sourceText, protocolNumber: protocolNumber,
            expectations: expectations)
    }

    // MARK: - Names

    /// A target in a rule: `*`, an address, prefix or range, a host, `group:`, `tag:` or `ipset:`.
    func resolve(_ text: String) -> AddressRanges? {
        if text == "*" { return .everything }
        if text.hasPrefix("group:") { return groups[text] }
        if text.hasPrefix("tag:") { return tagAddresses[text] }
        return resolveDefined(text, allowIPSets: true)
    }

    func resolveDefined(_ text: String, allowIPSets: Bool) -> AddressRanges? {
        if text.hasPrefix("ipset:") { return allowIPSets ? ipsets[text] : nil }
        if let host = hosts[text] { return host }
        return Self.literal(text)
    }

    /// An address, a prefix, or a range `FIRST-LAST` of one family.
    static func literal(_ text: String) -> AddressRanges? {
        if case .success(let prefix) = IPPrefix.parse(text) { return AddressRanges(prefix.canonical) }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = IPAddress(parts[0]), let last = IPAddress(parts[1]),
            first.family == last.family, first.numericValue <= last.numericValue
        else { return nil }
        var ranges = AddressRanges()
        ranges.insert(family: first.family, first.numericValue...last.numericValue)
        return ranges
    }

    static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }

    /// The colon between target and ports: the last one, after a `]` for a bracketed IPv6 address.
    static func portSeparator(_ text: String) -> String.Index? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let target = text[..<colon]
        if target.hasPrefix("[") { return target.hasSuffix("]") ? colon : nil }
        // An unbracketed IPv6 target is ambiguous; tag:, group: and ipset: have a colon of their own.
        if target.contains(":"), !(target.hasPrefix("tag:") || target.hasPrefix("group:") || target.hasPrefix("ipset:"))
        {
            return nil
        }
        return colon
    }

    static func unbracketed(_ text: String) -> String {
        text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
    }

    /// `*`, `22`, `80,443`, `1000-2000`: sorted ranges.
    static func ports(_ text: String) -> [ClosedRange<UInt16>]? {
        if text == "*" { return [0...UInt16.max] }
        var ranges: [ClosedRange<UInt16>] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = UInt16(bounds[0]), let high = UInt16(bounds.last!),
                low <= high
            else { return nil }
            ranges.append(low...high)
        }
        return ranges.isEmpty ? nil : ranges
    }

    /// A grant's `ip` entry: `*`, `PORTS` (TCP and UDP), or `PROTO:PORTS` (`PROTO:*` for a protocol without ports).
    static func capability(_ text: String) -> [Policy.Service]? {
        if text == "*" { return [Policy.Service(protocolNumber: nil)] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let numbers: [UInt8]
        let portText: String
        if parts.count == 1 {
            numbers = [6, 17]
            portText = String(parts[0])
        } else if parts.count == 2, let parsed = Policy.protocolNumbers(String(parts[0])) {
            numbers = parsed
            portText = String(parts[1])
        } else {
            return nil
        }
        guard let ports = ports(portText) else { return nil }
        var services: [Policy.Service] = []
        for number in numbers {
            if Policy.portProtocols.contains(number) {
                services += ports.map { Policy.Service(protocolNumber: number, ports: $0) }
            } else {
                guard ports == [0...UInt16.max] else { return nil }
                services.append(Policy.Service(protocolNumber: number))
            }
        }
        return services
    }

    // MARK: - Shapes

    func object(_ node: HuJSONNode, _ path: String) throws(PolicyError) -> [HuJSONNode.Member] {
        guard case .object(let members) = node.value else {
            throw PolicyError(node.position, "\(path) must be an object, not \(node.kind)")
        }
        return members
    }

    func array(_ node: HuJSONNode, _ path: String, nonEmpty: Bool = false) throws(PolicyError) -> [HuJSONNode] {
        guard case .array(let elements) = node.value else {
            throw PolicyError(node.position, "\(path) must be a list, not \(node.kind)")
        }
        if nonEmpty, elements.isEmpty { throw PolicyError(node.position, "\(path) is empty") }
        return elements
    }

    func string(_ node: HuJSONNode, _ path: String) throws(PolicyError) -> String {
        guard case .string(let text) = node.value else {
            throw PolicyError(node.position, "\(path) must be a string, not \(node.kind)")
        }
        return text
    }

    /// An object's fields by key, refusing unknown keys and missing required ones.
    func fields(_ node: HuJSONNode, _ path: String, allowed: [String], required: [String]) throws(PolicyError)
        -> [String: HuJSONNode]
    {
        var result: [String: HuJSONNode] = [:]
        for member in try object(node, path) {
            guard allowed.contains(member.key) else {
                throw PolicyError(
                    member.keyPosition,
                    "\(path): unknown key \"\(member.key)\" (expected \(allowed.joined(separator: ", ")))")
            }
            result[member.key] = member.value
        }
        for key in required where result[key] == nil {
            throw PolicyError(node.position, "\(path): \"\(key)\" is missing")
        }
        return result
    }
}
