import Foundation
import Glibc
import Netlink
import NetworkTypes
import Testing

/// Two namespaces joined by a veth: `mgv0` in `sender` (10.77.0.1/24, fd00:77::1/64) and `mgv1` in `peer`,
/// where the peer already has a stale neighbour entry for the sender's addresses with a wrong MAC.
/// Receivers only update entries they have, so the entry turning into the sender's MAC proves the
/// announcement arrived and was understood.
@Suite("Neighbour announcements", .enabled(if: isRoot, "needs root for ip netns"))
struct NeighborAnnouncementTests {
    static let staleMAC = "02:00:00:00:00:99"

    func withPair(_ body: (TestNamespace, TestNamespace, Link) async throws -> Void) async throws {
        try await TestNamespace.with { sender in
            try await TestNamespace.with { peer in
                try sender.ip("link", "add", "name", "mgv0", "type", "veth", "peer", "name", "mgv1", "netns", peer.name)
                try sender.ip("link", "set", "mgv0", "up")
                try peer.ip("link", "set", "mgv1", "up")
                try sender.ip("addr", "add", "10.77.0.1/24", "dev", "mgv0")
                try sender.ip("-6", "addr", "add", "fd00:77::1/64", "dev", "mgv0", "nodad")
                try peer.ip("addr", "add", "10.77.0.2/24", "dev", "mgv1")
                try peer.ip("-6", "addr", "add", "fd00:77::2/64", "dev", "mgv1", "nodad")
                for address in ["10.77.0.1", "fd00:77::1"] {
                    try peer.ip("neigh", "replace", address, "dev", "mgv1", "lladdr", Self.staleMAC, "nud", "stale")
                }
                let link = try #require(try RouteNetlink.open(inNamespace: sender.name).link(named: "mgv0"))
                try await body(sender, peer, link)
            }
        }
    }

    /// The peer's link-layer address for `address`, polled until it is no longer the stale one.
    func peerEntry(_ peer: TestNamespace, _ address: String) async throws -> String? {
        var entry: String?
        for _ in 0..<20 {
            entry = try peer.ipJSON([IPNeighbor].self, "neigh", "show", address, "dev", "mgv1").first?.lladdr
            if entry != Self.staleMAC { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return entry
    }

    @Test("a gratuitous ARP moves the peer's neighbour entry to the sender's MAC")
    func gratuitousARP() async throws {
        try await withPair { sender, peer, link in
            #expect(
                try peer.ipJSON([IPNeighbor].self, "neigh", "show", "10.77.0.1", "dev", "mgv1").first?.lladdr
                    == Self.staleMAC)
            try GratuitousARP.announce(
                address: IPv4Address(10, 77, 0, 1), interfaceIndex: link.index, hardwareAddress: link.hardwareAddress,
                inNamespace: sender.name)
            #expect(try await peerEntry(peer, "10.77.0.1") == macText(link.hardwareAddress))
        }
    }

    @Test("a capture on the peer sees the gratuitous ARP request", .enabled(if: isInstalled("tshark")))
    func capturedByTshark() async throws {
        try await withPair { sender, peer, link in
            let capture = try SpawnedCommand([
                "ip", "netns", "exec", peer.name, "tshark", "-n", "-i", "mgv1", "-f", "arp", "-c", "1", "-a",
                "duration:30",
                "-T", "fields", "-e", "arp.opcode", "-e", "arp.src.hw_mac", "-e", "arp.src.proto_ipv4",
                "-e", "arp.dst.proto_ipv4",
            ])
            let start = ContinuousClock.now
            while !capture.standardErrorSoFar.contains("Capturing on"), ContinuousClock.now - start < .seconds(8) {
                try await Task.sleep(for: .milliseconds(50))
            }
            // tshark may report "Capturing on" a moment before its filter is live, and a loaded machine makes
            // that moment long: announce until the capture has its packet (or gives up).
            let announcing = ContinuousClock.now
            while capture.standardOutputSoFar.isEmpty, ContinuousClock.now - announcing < .seconds(20) {
                try GratuitousARP.announce(
                    address: IPv4Address(10, 77, 0, 1), interfaceIndex: link.index,
                    hardwareAddress: link.hardwareAddress, inNamespace: sender.name)
                try await Task.sleep(for: .milliseconds(200))
            }
            let output = capture.wait()
            let fields = output.standardOutput.split(separator: "\n").first?.split(separator: "\t").map(String.init)
            #expect(fields == ["1", macText(link.hardwareAddress), "10.77.0.1", "10.77.0.1"], "\(output)")
        }
    }

    @Test("an unsolicited neighbor advertisement moves the peer's IPv6 neighbour entry to the sender's MAC")
    func neighborAdvertisement() async throws {
        try await withPair { sender, peer, link in
            try UnsolicitedNeighborAdvertisement.announce(
                address: try #require(IPv6Address("fd00:77::1")), interfaceIndex: link.index,
                hardwareAddress: link.hardwareAddress, inNamespace: sender.name)
            #expect(try await peerEntry(peer, "fd00:77::1") == macText(link.hardwareAddress))
        }
    }

    @Test("an announcement with a hardware address of the wrong length is refused before sending")
    func wrongHardwareAddress() {
        #expect(throws: NetlinkError.invalidArgument("gratuitous ARP needs a 6-byte hardware address, got 0")) {
            try GratuitousARP.announce(address: IPv4Address(10, 0, 0, 1), interfaceIndex: 1, hardwareAddress: [])
        }
    }
}
