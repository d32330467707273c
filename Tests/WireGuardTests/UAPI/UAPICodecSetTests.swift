import CryptoPrimitives
import NetworkTypes
import Testing
import WireGuard

@Suite("UAPI set=1 parsing")
struct UAPICodecSetTests {
    private typealias PeerChange = UAPIConfigurationChange.PeerChange

    private func parse(_ text: String) -> Result<UAPIConfigurationChange, UAPIError> {
        UAPICodec.parseSet(UAPIFixtures.lines(text))
    }

    @Test("parses the exact request wg setconf sends for an interface with several peers")
    func parsesSetconfRequest() throws {
        let privateKey = try #require(Key32(hex: UAPIFixtures.privateKeyHex))
        let presharedKey = try #require(Key32(hex: UAPIFixtures.presharedHex))
        let endpointA = try #require(Endpoint("192.0.2.10:51820"))
        let endpointB = try #require(Endpoint("[2001:db8::1]:4500"))
        // The shape and key order of wireguard-tools `userspace_set_device` for `wg setconf`.
        let request = """
            private_key=\(UAPIFixtures.privateKeyHex)
            listen_port=51820
            fwmark=4660
            replace_peers=true
            public_key=\(UAPIFixtures.peerAHex)
            preshared_key=\(UAPIFixtures.presharedHex)
            endpoint=192.0.2.10:51820
            persistent_keepalive_interval=25
            replace_allowed_ips=true
            allowed_ip=10.10.0.2/32
            allowed_ip=fd00:10::2/128
            public_key=\(UAPIFixtures.peerBHex)
            endpoint=[2001:db8::1]:4500
            replace_allowed_ips=true
            allowed_ip=10.20.0.0/16
            allowed_ip=0.0.0.0/0
            public_key=\(UAPIFixtures.peerCHex)
            remove=true
            """
        let expected = UAPIConfigurationChange(
            privateKey: privateKey,
            listenPort: 51820,
            firewallMark: 4660,
            replacePeers: true,
            peers: [
                PeerChange(
                    publicKey: try #require(Key32(hex: UAPIFixtures.peerAHex)),
                    presharedKey: presharedKey,
                    endpoint: endpointA,
                    persistentKeepaliveInterval: 25,
                    replaceAllowedIPs: true,
                    allowedIPs: [try #require(IPPrefix("10.10.0.2/32")), try #require(IPPrefix("fd00:10::2/128"))]
                ),
                PeerChange(
                    publicKey: try #require(Key32(hex: UAPIFixtures.peerBHex)),
                    endpoint: endpointB,
                    replaceAllowedIPs: true,
                    allowedIPs: [try #require(IPPrefix("10.20.0.0/16")), try #require(IPPrefix("0.0.0.0/0"))]
                ),
                PeerChange(publicKey: try #require(Key32(hex: UAPIFixtures.peerCHex)), remove: true),
            ]
        )
        #expect(parse(request) == .success(expected))
    }

    @Test("an empty request changes nothing")
    func emptyRequest() {
        #expect(UAPICodec.parseSet([]) == .success(UAPIConfigurationChange()))
    }

    @Test("parses every peer key, including update_only and protocol_version=1")
    func parsesEveryPeerKey() throws {
        let request = """
            public_key=\(UAPIFixtures.peerAHex)
            protocol_version=1
            update_only=true
            preshared_key=\(UAPIFixtures.presharedHex)
            endpoint=[::1]:7
            persistent_keepalive_interval=0
            replace_allowed_ips=true
            allowed_ip=192.168.7.0/24
            """
        let change = try parse(request).get()
        let peer = try #require(change.peers.first)
        #expect(change.peers.count == 1)
        #expect(peer.publicKey == Key32(hex: UAPIFixtures.peerAHex))
        #expect(peer.updateOnly)
        #expect(!peer.remove)
        #expect(peer.presharedKey == Key32(hex: UAPIFixtures.presharedHex))
        #expect(peer.endpoint == Endpoint("[::1]:7"))
        #expect(peer.persistentKeepaliveInterval == 0)
        #expect(peer.replaceAllowedIPs)
        #expect(peer.allowedIPs == [try #require(IPPrefix("192.168.7.0/24"))])
        #expect(peer.removedAllowedIPs.isEmpty)
    }

    @Test("an all-zero private key or preshared key is kept as Key32.zero, meaning 'remove it'")
    func zeroKeysMeanRemoval() throws {
        let zero = String(repeating: "0", count: 64)
        let change = try parse("private_key=\(zero)\npublic_key=\(UAPIFixtures.peerAHex)\npreshared_key=\(zero)").get()
        #expect(change.privateKey == .zero)
        #expect(change.peers.first?.presharedKey == .zero)
    }

    @Test("hex keys are accepted in upper case too")
    func upperCaseHex() throws {
        let change = try parse("private_key=\(UAPIFixtures.privateKeyHex.uppercased())").get()
        #expect(change.privateKey == Key32(hex: UAPIFixtures.privateKeyHex))
    }

    @Test("numbers accept the full range and leading zeros, as Go's ParseUint does")
    func numberRanges() throws {
        let change = try parse("listen_port=65535\nfwmark=4294967295").get()
        #expect(change.listenPort == 65535)
        #expect(change.firewallMark == 4_294_967_295)
        let padded = try parse("listen_port=00080\nfwmark=0").get()
        #expect(padded.listenPort == 80)
        #expect(padded.firewallMark == 0)
    }

    @Test("a repeated key is not an error: the last value wins")
    func repeatedKeyLastWins() throws {
        let change = try parse("listen_port=1000\nlisten_port=2000").get()
        #expect(change.listenPort == 2000)
    }

    @Test("the same public key twice gives two sections, kept in request order")
    func repeatedPublicKey() throws {
        let request = """
            public_key=\(UAPIFixtures.peerAHex)
            remove=true
            public_key=\(UAPIFixtures.peerAHex)
            allowed_ip=10.0.0.0/8
            """
        let change = try parse(request).get()
        #expect(change.peers.count == 2)
        #expect(change.peers.map(\.remove) == [true, false])
        #expect(change.peers.last?.allowedIPs == [try #require(IPPrefix("10.0.0.0/8"))])
    }

    @Test("allowed IPs keep their order and their host bits")
    func allowedIPsKeepOrderAndHostBits() throws {
        let change = try parse("public_key=\(UAPIFixtures.peerAHex)\nallowed_ip=10.0.0.1/24\nallowed_ip=::/0").get()
        #expect(change.peers.first?.allowedIPs.map(\.description) == ["10.0.0.1/24", "::/0"])
    }

    @Test("allowed_ip with a leading '-' removes the prefix, and a later line cancels an earlier one")
    func allowedIPRemoval() throws {
        let request = """
            public_key=\(UAPIFixtures.peerAHex)
            allowed_ip=10.1.0.0/16
            allowed_ip=-10.1.0.0/16
            allowed_ip=-10.2.0.0/16
            allowed_ip=10.2.0.5/16
            allowed_ip=-fd00::/64
            """
        let peer = try #require(try parse(request).get().peers.first)
        #expect(peer.allowedIPs == [try #require(IPPrefix("10.2.0.5/16"))])
        #expect(peer.removedAllowedIPs == [try #require(IPPrefix("10.1.0.0/16")), try #require(IPPrefix("fd00::/64"))])
    }

    @Test("replace_allowed_ips drops the allowed_ip lines before it in the same section")
    func replaceAllowedIPsDropsEarlierLines() throws {
        let request = """
            public_key=\(UAPIFixtures.peerAHex)
            allowed_ip=10.1.0.0/16
            allowed_ip=-10.3.0.0/16
            replace_allowed_ips=true
            allowed_ip=10.2.0.0/16
            """
        let peer = try #require(try parse(request).get().peers.first)
        #expect(peer.replaceAllowedIPs)
        #expect(peer.allowedIPs == [try #require(IPPrefix("10.2.0.0/16"))])
        #expect(peer.removedAllowedIPs.isEmpty)
    }

    /// One malformed request and the error wireguard-go's rules give for it.
    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let request: String
        let error: UAPIError
        let errno: Int32
        var testDescription: String { name }
    }

    static let malformedCases: [Malformed] = {
        let peer = "public_key=\(UAPIFixtures.peerAHex)\n"
        let hex63 = String(UAPIFixtures.privateKeyHex.dropLast())
        let notHex = "zz" + String(UAPIFixtures.privateKeyHex.dropFirst(2))
        return [
            Malformed(
                name: "private key one digit short", request: "private_key=\(hex63)",
                error: .invalidHexKey(key: "private_key"), errno: -22),
            Malformed(
                name: "public key with non-hex digits", request: "public_key=\(notHex)",
                error: .invalidHexKey(key: "public_key"), errno: -22),
            Malformed(
                name: "preshared key two digits long", request: peer + "preshared_key=\(UAPIFixtures.presharedHex)00",
                error: .invalidHexKey(key: "preshared_key"), errno: -22),
            Malformed(
                name: "empty public key", request: "public_key=",
                error: .invalidHexKey(key: "public_key"), errno: -22),
            Malformed(
                name: "listen port 70000", request: "listen_port=70000",
                error: .invalidNumber(key: "listen_port", value: "70000"), errno: -22),
            Malformed(
                name: "negative listen port", request: "listen_port=-1",
                error: .invalidNumber(key: "listen_port", value: "-1"), errno: -22),
            Malformed(
                name: "listen port with a plus sign", request: "listen_port=+5",
                error: .invalidNumber(key: "listen_port", value: "+5"), errno: -22),
            Malformed(
                name: "empty listen port", request: "listen_port=",
                error: .invalidNumber(key: "listen_port", value: ""), errno: -22),
            Malformed(
                name: "fwmark past 32 bits", request: "fwmark=4294967296",
                error: .invalidNumber(key: "fwmark", value: "4294967296"), errno: -22),
            Malformed(
                name: "keepalive past 16 bits", request: peer + "persistent_keepalive_interval=65536",
                error: .invalidNumber(key: "persistent_keepalive_interval", value: "65536"), errno: -22),
            Malformed(
                name: "unknown device key", request: "listen-port=1",
                error: .unknownDeviceKey("listen-port"), errno: -22),
            Malformed(
                name: "keys are case-sensitive", request: "Private_Key=\(UAPIFixtures.privateKeyHex)",
                error: .unknownDeviceKey("Private_Key"), errno: -22),
            Malformed(
                name: "unknown peer key", request: peer + "allowed_ips=10.0.0.0/8",
                error: .unknownPeerKey("allowed_ips"), errno: -22),
            Malformed(
                name: "allowed IP with length 33", request: peer + "allowed_ip=10.0.0.1/33",
                error: .invalidAllowedIP("10.0.0.1/33"), errno: -22),
            Malformed(
                name: "allowed IP without length", request: peer + "allowed_ip=10.0.0.1",
                error: .invalidAllowedIP("10.0.0.1"), errno: -22),
            Malformed(
                name: "allowed IP removal without prefix", request: peer + "allowed_ip=-",
                error: .invalidAllowedIP("-"), errno: -22),
            Malformed(
                name: "endpoint without port", request: peer + "endpoint=192.0.2.1",
                error: .invalidEndpoint("192.0.2.1"), errno: -22),
            Malformed(
                name: "IPv6 endpoint without port", request: peer + "endpoint=[2001:db8::1]",
                error: .invalidEndpoint("[2001:db8::1]"), errno: -22),
            Malformed(
                name: "protocol version 2", request: peer + "protocol_version=2",
                error: .unsupportedProtocolVersion("2"), errno: -22),
            Malformed(
                name: "protocol version in the device section", request: "protocol_version=1",
                error: .peerKeyWithoutPublicKey("protocol_version"), errno: -22),
            Malformed(
                name: "public_key missing before allowed_ip", request: "allowed_ip=10.0.0.0/8",
                error: .peerKeyWithoutPublicKey("allowed_ip"), errno: -22),
            Malformed(
                name: "preshared_key before public_key",
                request: "preshared_key=\(UAPIFixtures.presharedHex)\n" + peer,
                error: .peerKeyWithoutPublicKey("preshared_key"), errno: -22),
            Malformed(
                name: "device key after a public key", request: peer + "listen_port=1",
                error: .deviceKeyAfterPeer("listen_port"), errno: -22),
            Malformed(
                name: "replace_peers=false", request: "replace_peers=false",
                error: .invalidFlag(key: "replace_peers", value: "false"), errno: -22),
            Malformed(
                name: "remove=1", request: peer + "remove=1",
                error: .invalidFlag(key: "remove", value: "1"), errno: -22),
            Malformed(
                name: "update_only=TRUE", request: peer + "update_only=TRUE",
                error: .invalidFlag(key: "update_only", value: "TRUE"), errno: -22),
            Malformed(
                name: "line without '='", request: "listen_port 51820",
                error: .malformedLine("listen_port 51820"), errno: -71),
            Malformed(
                name: "blank line inside the body", request: "listen_port=1\n\nfwmark=1",
                error: .malformedLine(""), errno: -71),
        ]
    }()

    @Test("rejects malformed input with wireguard-go's error class", arguments: malformedCases)
    func rejectsMalformedInput(_ testCase: Malformed) {
        let result = parse(testCase.request)
        #expect(result == .failure(testCase.error))
        if case .failure(let error) = result {
            #expect(error.errno == testCase.errno)
        }
    }

    @Test("the first bad line decides the error, even when later lines are bad too")
    func firstErrorWins() {
        #expect(parse("listen_port=x\nfoo=bar") == .failure(.invalidNumber(key: "listen_port", value: "x")))
    }

    @Test("error evidence from a huge line is cut short")
    func evidenceIsBounded() {
        let hugeKey = String(repeating: "k", count: 10_000)
        guard case .failure(.unknownDeviceKey(let evidence)) = parse("\(hugeKey)=1") else {
            Issue.record("expected unknownDeviceKey")
            return
        }
        #expect(evidence.utf8.count < 200)
        #expect(evidence.hasPrefix("kkkk"))
    }

    @Test("an invalid hex key never echoes the (possibly secret) value")
    func secretsAreWithheld() {
        let secretish = String(UAPIFixtures.privateKeyHex.dropLast())
        let result = parse("private_key=\(secretish)")
        #expect(result == .failure(.invalidHexKey(key: "private_key")))
        if case .failure(let error) = result {
            #expect(!error.description.contains(secretish))
        }
    }
}
