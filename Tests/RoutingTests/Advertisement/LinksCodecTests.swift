import NetworkTypes
import Routing
import Testing

@Suite("Advertisement codec: links and relayed messages")
struct LinksCodecTests {
    static let links = Advertisement.links(
        .init(
            sender: "gw-ams1", sequence: 9,
            heard: [
                "gw-fsn1": .init(rtt: 12, endpoint: Endpoint("198.51.100.52:51820")),
                "gw-nyc1": .init(rtt: nil, endpoint: Endpoint("[2001:db8::5]:40000")),
                "gw-lon1": .init(rtt: 3, lossPercent: 40),
            ],
            relays: ["gw-sfo1": "gw-nyc1"]))

    @Test("links round-trip: RTTs, endpoints of both families, relays")
    func linksRoundTrip() throws {
        let bytes = Self.links.encode()
        let decoded = try Advertisement.decode(bytes).get()
        #expect(decoded == Self.links)
        #expect(decoded.encode() == bytes)
    }

    @Test("a relayed routes message round-trips; nesting, hellos and a mismatched origin are refused")
    func relayed() throws {
        let inner = Advertisement.withdraw(.init(sender: "gw-fsn1", sequence: 4))
        let relayed = Advertisement.relayed(.init(sender: "gw-ams1", sequence: 10, message: inner))
        let bytes = relayed.encode()
        #expect(try Advertisement.decode(bytes).get() == relayed)

        // The origin field says gw-fsn1 but the inner message is gw-nyc1's.
        var forged = bytes
        let otherInner = Advertisement.withdraw(.init(sender: "gw-nyc1", sequence: 4)).encode()
        let innerStart = bytes.count - inner.encode().count
        forged.replaceSubrange(innerStart..., with: otherInner)
        #expect(throws: AdvertisementDecodeError.invalidRelayedMessage) { try Advertisement.decode(forged).get() }

        // A hello inside: refused (hellos travel only between members, never by proxy).
        let hello = Advertisement.hello(
            .init(
                sender: "gw-fsn1", sequence: 1, group: "fsn1", priority: 1, role: .primary, term: 1, lanHealthy: true,
                held: false)
        ).encode()
        var wrapped = Array(bytes[..<innerStart])
        wrapped[wrapped.count - 2] = UInt8(hello.count >> 8)
        wrapped[wrapped.count - 1] = UInt8(hello.count & 0xFF)
        #expect(throws: AdvertisementDecodeError.invalidRelayedMessage) {
            try Advertisement.decode(wrapped + hello).get()
        }
        // A relayed message inside a relayed message: refused, so nothing nests.
        var nested = Array(bytes[..<innerStart])
        nested[nested.count - 2] = UInt8(bytes.count >> 8)
        nested[nested.count - 1] = UInt8(bytes.count & 0xFF)
        #expect(throws: AdvertisementDecodeError.invalidRelayedMessage) {
            try Advertisement.decode(nested + bytes).get()
        }
    }

    @Test("a relayed links message round-trips: the deciding end's relay choice crosses a partition")
    func relayedLinks() throws {
        let relayed = Advertisement.relayed(.init(sender: "gw-lon1", sequence: 11, message: Self.links))
        let decoded = try Advertisement.decode(relayed.encode()).get()
        #expect(decoded == relayed)
    }

    @Test("a loss above 100% (other than 255, not measured) is refused")
    func lossOutOfRange() throws {
        let one = Advertisement.links(
            .init(sender: "gw-ams1", sequence: 1, heard: ["gw-lon1": .init(rtt: 3, lossPercent: 100)], relays: [:]))
        var bytes = one.encode()
        #expect(try Advertisement.decode(bytes).get() == one)
        // The loss byte follows the name (length-prefixed) and the 2-byte RTT of the first record.
        let index = try #require(bytes.firstIndex(of: 100))
        bytes[index] = 101
        #expect(throws: AdvertisementDecodeError.invalidLoss(101)) { try Advertisement.decode(bytes).get() }
        bytes[index] = 255
        let unknown = try Advertisement.decode(bytes).get()
        guard case .links(let links) = unknown else { Issue.record("not links: \(unknown)"); return }
        #expect(links.heard["gw-lon1"]?.lossPercent == nil)
    }

    @Test("links records out of order are refused")
    func duplicatePeers() {
        var bytes = Self.links.encode()
        // Swap the first record's name "gw-fsn1" for "gw-nyc1", which follows: gw-lon1 is then out of order.
        if let range = bytes.firstRange(of: Array("gw-fsn1".utf8)) {
            bytes.replaceSubrange(range, with: Array("gw-nyc1".utf8))
        }
        #expect(throws: AdvertisementDecodeError.duplicatePeer("gw-lon1")) { try Advertisement.decode(bytes).get() }
    }
}
