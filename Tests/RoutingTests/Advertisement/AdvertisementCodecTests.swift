import NetworkTypes
import Routing
import Testing

@Suite("Advertisement codec")
struct AdvertisementCodecTests {
    static let hello = Advertisement.hello(
        .init(
            sender: "gw-nyc1-a", sequence: 0x0102_0304_0506_0708, group: "nyc1", priority: 200, role: .primary,
            term: 7, lanHealthy: true, held: false))

    static let routes = Advertisement.routes(
        .init(
            sender: "gw-nyc1-b", sequence: 42,
            groups: [.init(group: "nyc1", priority: 100, primary: "gw-nyc1-a", term: 7)],
            routes: [
                .init(prefix: prefix("10.10.10.0/24"), group: "nyc1"),
                .init(prefix: prefix("fd00:10::/48"), group: "nyc1"),
                .init(prefix: prefix("192.168.0.0/16")),
            ]))

    static let routesWithoutPrimary = Advertisement.routes(
        .init(
            sender: "gw.fsn1_a", sequence: 0, groups: [.init(group: "fsn1", priority: 255, primary: nil, term: 0)],
            routes: [.init(prefix: prefix("0.0.0.0/0"))]))

    static let emptyRoutes = Advertisement.routes(.init(sender: "x", sequence: .max, routes: []))

    static let withdraw = Advertisement.withdraw(.init(sender: "gw-fsn1-a", sequence: 99))

    static let policy = Advertisement.policy(
        .init(sender: "gw-fsn1-a", sequence: 100, digest: (0..<32).map { UInt8($0 * 7 & 0xFF) }))

    static let noPolicy = Advertisement.policy(.init(sender: "gw-fsn1-a", sequence: 101, digest: []))

    static let probeTargets = Advertisement.probeTargets(
        .init(
            sender: "gw-fsn1-a", sequence: 102,
            targets: [
                prefix("10.20.10.0/24"): IPAddress("10.20.10.100")!, prefix("fd00:20::/48"): IPAddress("fd00:20::64")!,
            ]))

    static let all: [Advertisement] = [
        hello, routes, routesWithoutPrimary, emptyRoutes, withdraw, policy, noPolicy, probeTargets,
    ]

    @Test("probe targets are prefix and address records in prefix order; a target outside its prefix is refused")
    func probeTargetLayout() {
        let bytes = Self.probeTargets.encode()
        // header 1+1+8+(1+9), count 2, then 4|24|addr|target (10 bytes), 6|48|addr|target (34 bytes)
        #expect(bytes.count == 20 + 2 + 10 + 34)
        #expect(Array(bytes[20..<22]) == [0, 2])
        #expect(Array(bytes[22..<24]) == [4, 24])
        #expect(Array(bytes[28..<32]) == [10, 20, 10, 100])
        var outside = bytes
        outside[29] = 99  // the target becomes 10.99.10.100
        #expect(throws: AdvertisementDecodeError.probeTargetOutsidePrefix("10.20.10.0/24")) {
            try Advertisement.decode(outside).get()
        }
    }

    @Test("a policy message is the digest with its length, and only 0 or 32 bytes are accepted")
    func policyLayout() {
        let bytes = Self.policy.encode()
        #expect(bytes[1] == 4)
        #expect(bytes.count == 1 + 1 + 8 + 1 + 9 + 1 + 32)
        var wrong = Self.noPolicy.encode()
        wrong[wrong.count - 1] = 16
        wrong += [UInt8](repeating: 0, count: 16)
        #expect(Advertisement.decode(wrong) == .failure(.invalidDigestLength(16)))
    }

    @Test("every kind survives an encode/decode round trip", arguments: all)
    func roundTrip(message: Advertisement) throws {
        let bytes = message.encode()
        let decoded = try Advertisement.decode(bytes).get()
        #expect(decoded == message)
        #expect(decoded.encode() == bytes)
    }

    @Test("a hello has the documented byte layout")
    func helloLayout() {
        let expected: [UInt8] =
            [1, 1]  // version, kind hello
            + [1, 2, 3, 4, 5, 6, 7, 8]  // sequence
            + [9] + Array("gw-nyc1-a".utf8)  // sender
            + [4] + Array("nyc1".utf8)  // group
            + [200, 1, 0b01]  // priority, role primary, flags lan_healthy
            + [0, 0, 0, 0, 0, 0, 0, 7]  // term
        #expect(Self.hello.encode() == expected)
    }

    @Test("a routes message has the documented byte layout")
    func routesLayout() {
        let message = Advertisement.routes(
            .init(
                sender: "b", sequence: 1, groups: [.init(group: "g", priority: 5, primary: nil, term: 2)],
                routes: [.init(prefix: prefix("10.1.0.0/16"), group: "g"), .init(prefix: prefix("fd00::/8"))]))
        let expected: [UInt8] =
            [1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, UInt8(ascii: "b")]
            + [1, 1, UInt8(ascii: "g"), 5, 0, 0, 0, 0, 0, 0, 0, 0, 2]  // one group, no primary, term 2
            + [0, 2]  // two routes
            + [4, 16, 10, 1, 0, 0, 1]  // 10.1.0.0/16 in group 1
            + [6, 8, 0xfd] + Array(repeating: 0, count: 15) + [0]  // fd00::/8 without group
        #expect(message.encode() == expected)
    }

    @Test("every truncation of every kind is an error, never a crash", arguments: all)
    func truncations(message: Advertisement) {
        let bytes = message.encode()
        for length in 0..<bytes.count {
            let result = Advertisement.decode(bytes[0..<length])
            guard case .failure(let error) = result else {
                Issue.record("a \(length)-byte truncation of \(bytes.count) bytes decoded: \(result)")
                continue
            }
            if length == 0 {
                #expect(error == .empty)
            } else {
                guard case .truncated = error else {
                    Issue.record("truncation to \(length) gave \(error), expected .truncated")
                    continue
                }
            }
        }
    }

    @Test("every single-bit flip decodes to an error or to a message that re-encodes to the same bytes", arguments: all)
    func bitFlips(message: Advertisement) {
        let bytes = message.encode()
        var decodedCount = 0
        for index in bytes.indices {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[index] ^= 1 << bit
                if case .success(let decoded) = Advertisement.decode(flipped) {
                    decodedCount += 1
                    #expect(decoded.encode() == flipped, "byte \(index) bit \(bit)")
                }
            }
        }
        // Flips of sequence or term bits must still decode: the check above is not vacuous.
        #expect(decodedCount >= 64)
    }

    @Test("random garbage never crashes the decoder and valid results re-encode exactly")
    func garbage() {
        var generator = SeededGenerator(seed: 0x6d65_7368)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<80, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Make most inputs get past the header so the body parsers are exercised.
            if bytes.count > 2 {
                bytes[0] = 1
                bytes[1] = UInt8.random(in: 1...3, using: &generator)
            }
            if case .success(let message) = Advertisement.decode(bytes) {
                #expect(message.encode() == bytes)
            }
        }
    }

    @Test("an unknown version is refused with a reason naming both versions")
    func unknownVersion() {
        var bytes = Self.withdraw.encode()
        bytes[0] = 2
        let result = Advertisement.decode(bytes)
        #expect(result == .failure(.unsupportedVersion(2)))
        if case .failure(let error) = result {
            #expect(error.description == "unsupported route protocol version 2 (this gateway speaks version 1)")
            #expect(error.label == "unsupported_version")
        }
    }

    @Test(
        "malformed fields are refused with the field at fault",
        arguments: [
            // kind 9
            ([1, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61], AdvertisementDecodeError.unknownKind(9)),
            // sender with a space
            ([1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x20], .invalidName(field: "sender")),
            // empty sender
            ([1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0], .invalidName(field: "sender")),
            // sender of 64 bytes
            ([1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 64] + Array(repeating: 0x61, count: 64), .invalidName(field: "sender")),
            // withdraw followed by a byte
            ([1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 0], .trailingBytes(1)),
            // hello with priority 0
            (
                [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 1, 0x67, 0, 0, 1] + Array(repeating: 0, count: 8),
                .invalidPriority(field: "priority")
            ),
            // hello with role 2
            (
                [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 1, 0x67, 9, 2, 1] + Array(repeating: 0, count: 8),
                .invalidRole(2)
            ),
            // hello with reserved flag bit 2
            (
                [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 1, 0x67, 9, 0, 4] + Array(repeating: 0, count: 8),
                .reservedFlags(4)
            ),
            // route with family 5
            ([1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 0, 0, 1, 5, 8, 10, 0, 0, 0, 0], .invalidAddressFamily(5)),
            // IPv4 route of length 33
            ([1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 0, 0, 1, 4, 33, 10, 0, 0, 0, 0], .invalidPrefixLength(33)),
            // 10.10.10.1/24
            (
                [1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 0, 0, 1, 4, 24, 10, 10, 10, 1, 0],
                .nonCanonicalPrefix("10.10.10.1/24")
            ),
            // the same prefix twice
            (
                [1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 0, 0, 2, 4, 8, 10, 0, 0, 0, 0, 4, 8, 10, 0, 0, 0, 0],
                .duplicatePrefix("10.0.0.0/8")
            ),
            // route in group 1 with no group records
            ([1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 0, 0, 1, 4, 8, 10, 0, 0, 0, 1], .unknownGroupIndex(1)),
            // the same group twice
            (
                [1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 2]
                    + [1, 0x67, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0] + [1, 0x67, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0] + [0, 0],
                .duplicateGroup("g")
            ),
        ] as [([UInt8], AdvertisementDecodeError)]
    )
    func malformed(bytes: [UInt8], expected: AdvertisementDecodeError) {
        #expect(Advertisement.decode(bytes) == .failure(expected))
    }

    @Test("a message is accepted only from the overlay address of the peer it names")
    func originCheck() throws {
        let a = try #require(IPAddress("100.64.0.1"))
        let b = try #require(IPAddress("100.64.0.2"))
        let peers = ["gw-nyc1-a": a, "gw-nyc1-b": b]
        #expect(Self.hello.isSent(from: a, overlayAddresses: peers))
        #expect(!Self.hello.isSent(from: b, overlayAddresses: peers))
        #expect(!Self.withdraw.isSent(from: a, overlayAddresses: peers))
    }

    @Test("names follow the documented character rule")
    func names() {
        #expect(Advertisement.isValidName("gw-nyc1.a_2"))
        #expect(Advertisement.isValidName(String(repeating: "a", count: 63)))
        #expect(!Advertisement.isValidName(String(repeating: "a", count: 64)))
        #expect(!Advertisement.isValidName(""))
        #expect(!Advertisement.isValidName("gw nyc"))
        #expect(!Advertisement.isValidName("gw/1"))
        #expect(!Advertisement.isValidName("gé"))
    }
}

@Suite("MessageCounter")
struct MessageCounterTests {
    @Test("numbers increase from the wall-clock seed, and a restart continues above the previous run")
    func increases() {
        var first = MessageCounter(wallClockNanoseconds: 1_767_225_600_000_000_000)
        let numbers = (0..<1000).map { _ in first.next() }
        #expect(numbers == Array(1_767_225_600_000_000_001...1_767_225_600_000_001_000))
        // Restarted one millisecond later, after sending 1000 messages: still above.
        var restarted = MessageCounter(wallClockNanoseconds: 1_767_225_600_001_000_000)
        #expect(restarted.next() > first.last)
    }
}
