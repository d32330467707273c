import NetworkTypes

// Encoding and decoding of the version 1 wire format described on `Advertisement`.
extension Advertisement {
    /// Hello flag: the sender's LAN is healthy.
    static let lanHealthyFlag: UInt8 = 0b01
    /// Hello flag: the sender is on hold after stepping down.
    static let heldFlag: UInt8 = 0b10

    /// The datagram payload for this message.
    ///
    /// - Precondition: names are valid (``isValidName(_:)``), priorities are non-zero, prefixes are
    ///   canonical and unique, every route's group is among `groups`, and there are at most 255 groups
    ///   and 65535 routes. These come from the validated configuration, so a violation is a programming
    ///   error.
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(Self.version)
        writer.u8(kind.rawValue)
        writer.u64(sequence)
        writer.name(sender)
        switch self {
        case .hello(let hello):
            precondition(hello.priority != 0, "priority must be 1...255")
            writer.name(hello.group)
            writer.u8(hello.priority)
            writer.u8(hello.role.rawValue)
            writer.u8((hello.lanHealthy ? Self.lanHealthyFlag : 0) | (hello.held ? Self.heldFlag : 0))
            writer.u64(hello.term)
        case .routes(let routes):
            precondition(routes.groups.count <= 255, "at most 255 groups")
            precondition(routes.routes.count <= 65535, "at most 65535 routes")
            writer.u8(UInt8(routes.groups.count))
            for status in routes.groups {
                precondition(status.priority != 0, "priority must be 1...255")
                writer.name(status.group)
                writer.u8(status.priority)
                if let primary = status.primary {
                    writer.name(primary)
                } else {
                    writer.u8(0)
                }
                writer.u64(status.term)
            }
            writer.u16(UInt16(routes.routes.count))
            for route in routes.routes {
                writer.prefix(route.prefix)
                if let group = route.group {
                    guard let index = routes.groups.firstIndex(where: { $0.group == group }) else {
                        preconditionFailure("route group \(group) has no group record")
                    }
                    writer.u8(UInt8(index + 1))
                } else {
                    writer.u8(0)
                }
            }
        case .withdraw:
            break
        case .policy(let policy):
            precondition(policy.digest.isEmpty || policy.digest.count == 32, "a policy digest is SHA-256")
            writer.u8(UInt8(policy.digest.count))
            writer.bytes += policy.digest
        case .probeTargets(let message):
            precondition(message.targets.count <= 65535, "at most 65535 probe targets")
            writer.u16(UInt16(message.targets.count))
            // Sorted, so a message has one encoding.
            for (prefix, target) in message.targets.sorted(by: { $0.key < $1.key }) {
                precondition(prefix.contains(target), "a probe target lies inside its prefix")
                writer.prefix(prefix)
                writer.address(target)
            }
        case .links(let links):
            precondition(links.heard.count <= 255, "at most 255 links")
            writer.u8(UInt8(links.heard.count))
            for (peer, link) in links.heard.sorted(by: { $0.key < $1.key }) {
                writer.name(peer)
                writer.u16(min(link.rtt ?? Links.unknownRTT, Links.unknownRTT))
                precondition(link.lossPercent.map { $0 <= 100 } ?? true, "loss is a percentage")
                writer.u8(link.lossPercent ?? Links.unknownLoss)
                if let endpoint = link.endpoint {
                    writer.u8(endpoint.address.isV4 ? 4 : 6)
                    writer.address(endpoint.address)
                    writer.u16(endpoint.port)
                } else {
                    writer.u8(0)
                }
            }
            precondition(links.relays.count <= 255, "at most 255 relays")
            writer.u8(UInt8(links.relays.count))
            for (gateway, relay) in links.relays.sorted(by: { $0.key < $1.key }) {
                writer.name(gateway)
                writer.name(relay)
            }
        case .relayed(let relayed):
            precondition(Relayed.mayCarry(relayed.message.kind), "a relay passes on adverts and links only")
            writer.name(relayed.origin)
            let inner = relayed.message.encode()
            precondition(inner.count <= 65535, "a relayed message fits a datagram")
            writer.u16(UInt16(inner.count))
            writer.bytes += inner
        }
        return writer.bytes
    }

    /// Decodes one datagram payload. Never traps: any malformed input yields an error naming the
    /// field at fault.
    public static func decode(_ datagram: some Collection<UInt8>) -> Result<Advertisement, AdvertisementDecodeError> {
        var reader = ByteReader(Array(datagram))
        do {
            let message = try decodeMessage(&reader)
            guard reader.remaining == 0 else { return .failure(.trailingBytes(reader.remaining)) }
            return .success(message)
        } catch {
            return .failure(error)
        }
    }

    private static func decodeMessage(_ reader: inout ByteReader) throws(AdvertisementDecodeError) -> Advertisement {
        guard reader.remaining > 0 else { throw .empty }
        let version = try reader.u8("version")
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let kindByte = try reader.u8("kind")
        guard let kind = Kind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        let sequence = try reader.u64("sequence")
        let sender = try reader.name("sender")
        switch kind {
        case .hello:
            let group = try reader.name("group")
            let priority = try reader.priority("priority")
            let roleByte = try reader.u8("role")
            guard let role = PrimaryElection.Role(rawValue: roleByte) else { throw .invalidRole(roleByte) }
            let flags = try reader.u8("flags")
            guard flags & ~(lanHealthyFlag | heldFlag) == 0 else { throw .reservedFlags(flags) }
            let term = try reader.term("term")
            return .hello(
                Hello(
                    sender: sender, sequence: sequence, group: group, priority: priority, role: role, term: term,
                    lanHealthy: flags & lanHealthyFlag != 0, held: flags & heldFlag != 0))
        case .routes:
            let groupCount = try reader.u8("group_count")
            var groups: [GroupStatus] = []
            for _ in 0..<groupCount {
                let name = try reader.name("group.name")
                guard !groups.contains(where: { $0.group == name }) else { throw .duplicateGroup(name) }
                let priority = try reader.priority("group.priority")
                let primary = try reader.optionalName("group.primary")
                let term = try reader.term("group.term")
                groups.append(GroupStatus(group: name, priority: priority, primary: primary, term: term))
            }
            let routeCount = try reader.u16("route_count")
            var routes: [Route] = []
            var seen: Set<IPPrefix> = []
            for _ in 0..<routeCount {
                let prefix = try reader.prefix()
                guard seen.insert(prefix).inserted else { throw .duplicatePrefix(prefix.description) }
                let index = try reader.u8("route.group_index")
                let group: String?
                if index == 0 {
                    group = nil
                } else {
                    guard Int(index) <= groups.count else { throw .unknownGroupIndex(index) }
                    group = groups[Int(index) - 1].group
                }
                routes.append(Route(prefix: prefix, group: group))
            }
            return .routes(Routes(sender: sender, sequence: sequence, groups: groups, routes: routes))
        case .withdraw:
            return .withdraw(Withdraw(sender: sender, sequence: sequence))
        case .policy:
            let length = try reader.u8("digest.length")
            guard length == 0 || length == 32 else { throw .invalidDigestLength(length) }
            var digest: [UInt8] = []
            for _ in 0..<length { digest.append(try reader.u8("digest")) }
            return .policy(PolicyDigest(sender: sender, sequence: sequence, digest: digest))
        case .probeTargets:
            let count = try reader.u16("target_count")
            var targets: [IPPrefix: IPAddress] = [:]
            var last: IPPrefix?
            for _ in 0..<count {
                let prefix = try reader.prefix()
                // Strictly ascending: unique, and one encoding per message.
                if let last, !(last < prefix) { throw .duplicatePrefix(prefix.description) }
                last = prefix
                let target = try reader.address(family: prefix.address.isV4 ? 4 : 6, field: "target.address")
                guard prefix.contains(target) else { throw .probeTargetOutsidePrefix(prefix.description) }
                targets[prefix] = target
            }
            return .probeTargets(ProbeTargets(sender: sender, sequence: sequence, targets: targets))
        case .links:
            let count = try reader.u8("link_count")
            var heard: [String: Links.Link] = [:]
            var last: String?
            for _ in 0..<count {
                let peer = try reader.name("link.peer")
                // Strictly ascending: unique, and one encoding per message.
                if let last, !(last < peer) { throw .duplicatePeer(peer) }
                last = peer
                let rtt = try reader.u16("link.rtt")
                let loss = try reader.u8("link.loss")
                guard loss <= 100 || loss == Links.unknownLoss else { throw .invalidLoss(loss) }
                let family = try reader.u8("link.family")
                var endpoint: Endpoint?
                if family != 0 {
                    let address = try reader.address(family: family, field: "link.address")
                    endpoint = Endpoint(address: address, port: try reader.u16("link.port"))
                }
                heard[peer] = Links.Link(
                    rtt: rtt == Links.unknownRTT ? nil : rtt, endpoint: endpoint,
                    lossPercent: loss == Links.unknownLoss ? nil : loss)
            }
            let relayCount = try reader.u8("relay_count")
            var relays: [String: String] = [:]
            var lastGateway: String?
            for _ in 0..<relayCount {
                let gateway = try reader.name("relay.gateway")
                if let lastGateway, !(lastGateway < gateway) { throw .duplicatePeer(gateway) }
                lastGateway = gateway
                relays[gateway] = try reader.name("relay.via")
            }
            return .links(Links(sender: sender, sequence: sequence, heard: heard, relays: relays))
        case .relayed:
            let origin = try reader.name("origin")
            let length = Int(try reader.u16("message.length"))
            var inner = ByteReader(Array(try reader.take(length, "message")))
            let message = try decodeMessage(&inner)
            guard inner.remaining == 0 else { throw .trailingBytes(inner.remaining) }
            // One level only, and only what a relay passes on: no nesting, no hellos or links by proxy.
            guard Relayed.mayCarry(message.kind), message.sender == origin else { throw .invalidRelayedMessage }
            return .relayed(Relayed(sender: sender, sequence: sequence, message: message))
        }
    }
}

/// Appends big-endian fields to a growing byte array.
private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func prefix(_ prefix: IPPrefix) {
        precondition(prefix.isCanonical, "advertised prefixes must be canonical")
        u8(prefix.address.isV4 ? 4 : 6)
        u8(UInt8(prefix.length))
        address(prefix.address)
    }

    mutating func address(_ address: IPAddress) {
        switch address {
        case .v4(let a): u32(a.value)
        case .v6(let a):
            u64(a.high)
            u64(a.low)
        }
    }

    mutating func name(_ name: String) {
        precondition(Advertisement.isValidName(name), "invalid name \(name)")
        u8(UInt8(name.utf8.count))
        bytes.append(contentsOf: name.utf8)
    }
}

/// Reads big-endian fields from a datagram, throwing instead of reading past its end.
private struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func take(_ count: Int, _ field: String) throws(AdvertisementDecodeError) -> ArraySlice<UInt8> {
        guard remaining >= count else { throw .truncated(field: field) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func u8(_ field: String) throws(AdvertisementDecodeError) -> UInt8 {
        let byte = try take(1, field)
        return byte[byte.startIndex]
    }

    mutating func u16(_ field: String) throws(AdvertisementDecodeError) -> UInt16 {
        try take(2, field).reduce(0) { $0 << 8 | UInt16($1) }
    }

    mutating func u32(_ field: String) throws(AdvertisementDecodeError) -> UInt32 {
        try take(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ field: String) throws(AdvertisementDecodeError) -> UInt64 {
        try take(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A term, refused above ``Advertisement/maximumTerm`` so that no arithmetic on it can overflow.
    mutating func term(_ field: String) throws(AdvertisementDecodeError) -> UInt64 {
        let value = try u64(field)
        guard value <= Advertisement.maximumTerm else { throw .termOutOfRange(field: field, value) }
        return value
    }

    mutating func priority(_ field: String) throws(AdvertisementDecodeError) -> UInt8 {
        let value = try u8(field)
        guard value != 0 else { throw .invalidPriority(field: field) }
        return value
    }

    mutating func name(_ field: String) throws(AdvertisementDecodeError) -> String {
        guard let name = try optionalName(field) else { throw .invalidName(field: field) }
        return name
    }

    /// A name that may be empty (length byte 0), meaning "none".
    mutating func optionalName(_ field: String) throws(AdvertisementDecodeError) -> String? {
        let length = Int(try u8(field))
        if length == 0 { return nil }
        let raw = try take(length, field)
        guard Advertisement.isValidName(bytes: raw) else { throw .invalidName(field: field) }
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func address(family: UInt8, field: String) throws(AdvertisementDecodeError) -> IPAddress {
        switch family {
        case 4:
            return .v4(IPv4Address(value: try u32(field)))
        case 6:
            let high = try u64(field)
            return .v6(IPv6Address(high: high, low: try u64(field)))
        default:
            throw .invalidAddressFamily(family)
        }
    }

    mutating func prefix() throws(AdvertisementDecodeError) -> IPPrefix {
        let family = try u8("route.family")
        let length = try u8("route.length")
        let address = try address(family: family, field: "route.address")
        guard let prefix = IPPrefix(address: address, length: Int(length)) else {
            throw .invalidPrefixLength(length)
        }
        guard prefix.isCanonical else { throw .nonCanonicalPrefix(prefix.description) }
        return prefix
    }
}
