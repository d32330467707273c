import NetworkTypes
import Testing

@testable import WireGuard

/// A stand-in for a peer: the table compares values by identity, so the name is only for messages.
private final class TestPeer: CustomStringConvertible {
    let name: String
    init(_ name: String) { self.name = name }
    var description: String { "peer(\(name))" }
}

/// Inserts a list of prefixes and checks which peer each address resolves to.
struct LookupScenario: Sendable, CustomTestStringConvertible {
    let name: String
    /// Prefixes and the names of the peers they map to; no two are the same canonical prefix.
    let inserts: [(prefix: String, peer: String)]
    /// Addresses and the name of the peer expected to own them, or `nil` for no match.
    let lookups: [(address: String, peer: String?)]

    var testDescription: String { name }

    static let all: [LookupScenario] = [
        LookupScenario(
            name: "nested IPv4 prefixes resolve to the longest match",
            inserts: [
                ("10.0.0.0/8", "a"), ("10.1.0.0/16", "b"), ("10.1.2.0/24", "c"), ("10.1.2.3/32", "d"),
                ("10.128.0.0/9", "e"),
            ],
            lookups: [
                ("10.0.0.1", "a"), ("10.1.0.1", "b"), ("10.1.2.1", "c"), ("10.1.2.3", "d"), ("10.1.2.4", "c"),
                ("10.1.3.0", "b"), ("10.128.0.1", "e"), ("10.127.255.255", "a"), ("10.255.255.255", "e"),
                ("11.0.0.0", nil), ("9.255.255.255", nil), ("::a01:203", nil),
            ]
        ),
        LookupScenario(
            name: "an IPv4 default route catches everything IPv4 and nothing IPv6",
            inserts: [("0.0.0.0/0", "a"), ("192.168.1.0/24", "b")],
            lookups: [
                ("8.8.8.8", "a"), ("192.168.1.77", "b"), ("192.168.2.1", "a"), ("0.0.0.0", "a"),
                ("255.255.255.255", "a"), ("::1", nil), ("::ffff:8.8.8.8", nil),
            ]
        ),
        LookupScenario(
            name: "sibling prefixes split under a branch node",
            inserts: [("10.0.0.0/25", "a"), ("10.0.0.128/25", "b"), ("10.0.1.0/24", "c"), ("10.0.3.0/24", "d")],
            lookups: [
                ("10.0.0.0", "a"), ("10.0.0.127", "a"), ("10.0.0.128", "b"), ("10.0.0.255", "b"),
                ("10.0.1.200", "c"), ("10.0.2.0", nil), ("10.0.3.9", "d"), ("10.0.4.0", nil),
            ]
        ),
        LookupScenario(
            name: "host bits in inserted prefixes are ignored",
            inserts: [("10.1.2.3/16", "a"), ("fd00::1234/8", "b")],
            lookups: [("10.1.0.0", "a"), ("10.1.255.255", "a"), ("10.2.0.0", nil), ("fdff::", "b"), ("fe00::", nil)]
        ),
        LookupScenario(
            name: "host routes at the edges of both address spaces",
            inserts: [
                ("0.0.0.0/32", "a"), ("255.255.255.255/32", "b"), ("::/128", "c"),
                ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "d"),
            ],
            lookups: [
                ("0.0.0.0", "a"), ("0.0.0.1", nil), ("255.255.255.255", "b"), ("255.255.255.254", nil),
                ("::", "c"), ("::1", nil), ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "d"),
                ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", nil),
            ]
        ),
        LookupScenario(
            name: "nested IPv6 prefixes resolve to the longest match",
            inserts: [
                ("2001:db8::/32", "a"), ("2001:db8:1::/48", "b"), ("2001:db8:1:2::/64", "c"),
                ("2001:db8:1:2::1/128", "d"), ("2001:db8:8000::/33", "e"), ("fd00::/8", "f"),
            ],
            lookups: [
                ("2001:db8::1", "a"), ("2001:db8:1::5", "b"), ("2001:db8:1:2::2", "c"), ("2001:db8:1:2::1", "d"),
                ("2001:db8:1:3::", "b"), ("2001:db8:8000::1", "e"), ("2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", "a"),
                ("2001:db9::", nil), ("fdab::1", "f"), ("fe00::", nil), ("10.0.0.1", nil),
            ]
        ),
        LookupScenario(
            name: "IPv6 prefixes around the 64-bit boundary",
            inserts: [
                ("::/0", "a"), ("2001:db8::/63", "b"), ("2001:db8:0:1::/64", "c"), ("2001:db8:0:1:8000::/65", "d"),
                ("2001:db8:0:1::/127", "e"),
            ],
            lookups: [
                ("2001:db8::1", "b"), ("2001:db8:0:1::2", "c"), ("2001:db8:0:1::1", "e"), ("2001:db8:0:1::", "e"),
                ("2001:db8:0:1:8000::", "d"), ("2001:db8:0:1:7fff::", "c"), ("2001:db8:0:2::", "a"),
                ("1.2.3.4", nil),
            ]
        ),
        LookupScenario(
            name: "the families are kept apart",
            inserts: [("0.0.0.0/0", "a"), ("::/0", "b"), ("::ffff:0:0/96", "c"), ("10.0.0.0/8", "d")],
            lookups: [("1.2.3.4", "a"), ("10.0.0.1", "d"), ("::ffff:10.0.0.1", "c"), ("::1", "b"), ("::a00:1", "b")]
        ),
    ]
}

@Suite("AllowedIPs")
struct AllowedIPsTests {
    @Test("finds the longest matching prefix in any insertion order", arguments: LookupScenario.all)
    func scenario(_ scenario: LookupScenario) throws {
        let inserts = try scenario.inserts.map { try (#require(IPPrefix($0.prefix)), $0.peer) }
        let peers = Dictionary(uniqueKeysWithValues: Set(inserts.map(\.1)).map { ($0, TestPeer($0)) })
        // Forward, reversed, and odd positions before even ones.
        let orders = [
            inserts, inserts.reversed(),
            inserts.enumerated().sorted { ($0.offset % 2, $0.offset) > ($1.offset % 2, $1.offset) }.map(\.element),
        ]
        for order in orders {
            let table = AllowedIPs<TestPeer>()
            for (prefix, name) in order {
                table.insert(prefix, value: try #require(peers[name]))
            }
            #expect(table.count == inserts.count)
            #expect(table.invariantViolation() == nil)
            for (text, expectedName) in scenario.lookups {
                let address = try #require(IPAddress(text))
                let found = table.lookup(address)
                #expect(found?.name == expectedName, "lookup(\(text)) in order \(order.map(\.0))")
                switch address {
                case .v4(let v4): #expect(table.lookupV4(v4.value) === found)
                case .v6(let v6): #expect(table.lookupV6(high: v6.high, low: v6.low) === found)
                }
            }
        }
    }

    @Test("an empty table finds nothing")
    func emptyTable() throws {
        let table = AllowedIPs<TestPeer>()
        #expect(table.count == 0)
        #expect(table.lookup(try #require(IPAddress("10.0.0.1"))) == nil)
        #expect(table.lookupV4(0) == nil)
        #expect(table.lookupV6(high: 0, low: 0) == nil)
        #expect(table.prefixes(for: TestPeer("a")).isEmpty)
        table.remove(try #require(IPPrefix("0.0.0.0/0")))
        table.removeAll(for: TestPeer("a"))
        #expect(table.count == 0)
        #expect(table.invariantViolation() == nil)
    }

    @Test("re-inserting a prefix moves it to the new value")
    func reinsertMoves() throws {
        let a = TestPeer("a")
        let b = TestPeer("b")
        let table = AllowedIPs<TestPeer>()
        table.insert(try #require(IPPrefix("10.0.0.0/8")), value: a)
        table.insert(try #require(IPPrefix("10.0.0.0/16")), value: a)
        table.insert(try #require(IPPrefix("10.9.9.9/8")), value: b)
        #expect(table.count == 2)
        #expect(table.lookupV4(0x0A01_0101) === b)
        #expect(table.lookupV4(0x0A00_0001) === a)
        #expect(table.prefixes(for: a).map(\.description) == ["10.0.0.0/16"])
        #expect(table.prefixes(for: b).map(\.description) == ["10.0.0.0/8"])

        // Re-inserting with the same value changes nothing.
        table.insert(try #require(IPPrefix("10.0.0.0/8")), value: b)
        #expect(table.count == 2)
        #expect(table.invariantViolation() == nil)
    }

    @Test("remove deletes only the exact canonical prefix")
    func removeExact() throws {
        let (a, b, c) = (TestPeer("a"), TestPeer("b"), TestPeer("c"))
        let table = AllowedIPs<TestPeer>()
        table.insert(try #require(IPPrefix("10.0.0.0/8")), value: a)
        table.insert(try #require(IPPrefix("10.1.0.0/16")), value: b)
        table.insert(try #require(IPPrefix("10.1.2.0/24")), value: c)
        table.insert(try #require(IPPrefix("fd00::/8")), value: a)

        // Absent prefixes, including ones that sit between stored ones, are ignored.
        for absent in ["10.0.0.0/9", "10.1.0.0/17", "11.0.0.0/8", "10.1.2.3/32", "fd00::/9", "fc00::/7", "::/0"] {
            table.remove(try #require(IPPrefix(absent)))
        }
        #expect(table.count == 4)

        table.remove(try #require(IPPrefix("10.1.0.0/16")))
        #expect(table.count == 3)
        #expect(table.lookup(try #require(IPAddress("10.1.0.1"))) === a)
        #expect(table.lookup(try #require(IPAddress("10.1.2.1"))) === c)

        // Host bits are cleared before removing, as they are before inserting.
        table.remove(try #require(IPPrefix("10.1.2.99/24")))
        #expect(table.count == 2)
        #expect(table.lookup(try #require(IPAddress("10.1.2.1"))) === a)
        #expect(table.invariantViolation() == nil)

        table.remove(try #require(IPPrefix("10.0.0.0/8")))
        table.remove(try #require(IPPrefix("fd00::/8")))
        #expect(table.count == 0)
        #expect(table.lookup(try #require(IPAddress("10.1.2.1"))) == nil)
        #expect(table.lookup(try #require(IPAddress("fd00::1"))) == nil)
        #expect(table.invariantViolation() == nil)
    }

    @Test("removeAll(for:) removes every prefix of that value and no others")
    func removeAllForValue() throws {
        let (a, b) = (TestPeer("a"), TestPeer("b"))
        let table = AllowedIPs<TestPeer>()
        for text in ["10.1.0.0/16", "10.1.2.0/24", "192.168.0.1/32", "2001:db8:1::/48", "fd00::/8"] {
            table.insert(try #require(IPPrefix(text)), value: a)
        }
        for text in ["10.0.0.0/8", "10.1.2.128/25", "2001:db8::/32", "::/0"] {
            table.insert(try #require(IPPrefix(text)), value: b)
        }
        #expect(table.count == 9)

        table.removeAll(for: a)
        #expect(table.count == 4)
        #expect(table.prefixes(for: a).isEmpty)
        #expect(table.prefixes(for: b).map(\.description) == ["10.0.0.0/8", "10.1.2.128/25", "::/0", "2001:db8::/32"])
        #expect(table.lookup(try #require(IPAddress("10.1.2.3"))) === b)
        #expect(table.lookup(try #require(IPAddress("10.1.2.200"))) === b)
        #expect(table.lookup(try #require(IPAddress("192.168.0.1"))) == nil)
        #expect(table.lookup(try #require(IPAddress("2001:db8:1::1"))) === b)
        #expect(table.lookup(try #require(IPAddress("fd00::1"))) === b)
        #expect(table.invariantViolation() == nil)

        // Removing a value that owns nothing is a no-op.
        table.removeAll(for: a)
        table.removeAll(for: TestPeer("c"))
        #expect(table.count == 4)

        table.removeAll(for: b)
        #expect(table.count == 0)
        #expect(table.lookup(try #require(IPAddress("10.1.2.3"))) == nil)
        #expect(table.invariantViolation() == nil)
    }

    @Test("values are compared by identity, not by content")
    func identity() throws {
        let first = TestPeer("same")
        let second = TestPeer("same")
        let table = AllowedIPs<TestPeer>()
        table.insert(try #require(IPPrefix("10.0.0.0/8")), value: first)
        table.insert(try #require(IPPrefix("10.0.0.0/16")), value: second)
        #expect(table.prefixes(for: first).map(\.description) == ["10.0.0.0/8"])
        #expect(table.prefixes(for: second).map(\.description) == ["10.0.0.0/16"])
        table.removeAll(for: first)
        #expect(table.count == 1)
        #expect(table.lookupV4(0x0A00_0001) === second)
        #expect(table.lookupV4(0x0A01_0001) == nil)
    }

    @Test("lists a value's prefixes in canonical form, sorted, IPv4 first")
    func prefixListing() throws {
        let (a, b) = (TestPeer("a"), TestPeer("b"))
        let table = AllowedIPs<TestPeer>()
        let inserted = [
            "fd00::1/64", "192.168.1.7/24", "::/0", "10.0.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "0.0.0.0/0",
            "2001:db8::/32", "10.200.0.1/32",
        ]
        for text in inserted {
            table.insert(try #require(IPPrefix(text)), value: a)
        }
        table.insert(try #require(IPPrefix("10.0.0.0/24")), value: b)
        #expect(
            table.prefixes(for: a).map(\.description) == [
                "0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/16", "10.200.0.1/32", "172.16.0.0/12", "192.168.1.0/24",
                "::/0", "2001:db8::/32", "fd00::/64",
            ]
        )
        #expect(table.prefixes(for: a).allSatisfy { $0.isCanonical })
        #expect(table.prefixes(for: b).map(\.description) == ["10.0.0.0/24"])
    }
}
