import NetworkTypes
import Testing

@Suite("IPPrefix")
struct IPPrefixTests {
    @Test(
        "parses prefixes, keeping host bits",
        arguments: [
            ("10.0.0.0/8", "10.0.0.0/8", true),
            ("10.1.2.3/8", "10.1.2.3/8", false),
            ("0.0.0.0/0", "0.0.0.0/0", true),
            ("1.2.3.4/0", "1.2.3.4/0", false),
            ("192.168.1.1", "192.168.1.1/32", true),
            ("192.168.1.1/32", "192.168.1.1/32", true),
            ("fd00::/8", "fd00::/8", true),
            ("FD00::1/64", "fd00::1/64", false),
            ("::/0", "::/0", true),
            ("::1", "::1/128", true),
            ("2001:db8::/32", "2001:db8::/32", true),
            ("2001:db8:8000::/33", "2001:db8:8000::/33", true),
            ("2001:db8:8000::/32", "2001:db8:8000::/32", false),
            ("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104", true),
        ]
    )
    func parsesValid(text: String, description: String, isCanonical: Bool) throws {
        let prefix = try #require(IPPrefix(text))
        #expect(prefix.description == description)
        #expect(prefix.isCanonical == isCanonical)
        #expect(prefix.canonical.isCanonical)
        #expect(prefix.canonical.length == prefix.length)
    }

    @Test(
        "names the offending part of invalid text",
        arguments: [
            ("", IPPrefixParseError.badAddress("")),
            ("/8", .badAddress("")),
            ("1.2.3/24", .badAddress("1.2.3")),
            ("256.0.0.0/8", .badAddress("256.0.0.0")),
            ("01.2.3.4/8", .badAddress("01.2.3.4")),
            ("1::2::3/64", .badAddress("1::2::3")),
            ("10.0.0.0/8/8", .badLength("8/8")),
            ("1.2.3.4/33", .badLength("33")),
            ("1.2.3.4/", .badLength("")),
            ("1.2.3.4/-1", .badLength("-1")),
            ("1.2.3.4/08", .badLength("08")),
            ("1.2.3.4/ 8", .badLength(" 8")),
            ("1.2.3.4/8 ", .badLength("8 ")),
            ("fd00::/129", .badLength("129")),
            ("fd00::/99999999999999999999999", .badLength("99999999999999999999999")),
        ]
    )
    func reportsErrors(text: String, error: IPPrefixParseError) {
        #expect(IPPrefix.parse(text) == .failure(error))
        #expect(IPPrefix(text) == nil)
    }

    @Test("describes parse errors with the offending text")
    func errorDescription() {
        #expect(IPPrefixParseError.badAddress("1.2.3").description.contains("\"1.2.3\""))
        #expect(IPPrefixParseError.badLength("33").description.contains("\"33\""))
    }

    @Test("validates the length in the memberwise initializer")
    func memberwiseInitializer() throws {
        let v4 = try #require(IPAddress("10.0.0.1"))
        let v6 = try #require(IPAddress("fd00::1"))
        #expect(IPPrefix(address: v4, length: -1) == nil)
        #expect(IPPrefix(address: v4, length: 33) == nil)
        #expect(IPPrefix(address: v6, length: 129) == nil)
        #expect(IPPrefix(address: v4, length: 32)?.description == "10.0.0.1/32")
        #expect(IPPrefix(address: v6, length: 128)?.description == "fd00::1/128")
        #expect(IPPrefix(address: v4, length: 24)?.canonical.description == "10.0.0.0/24")
    }

    @Test(
        "clears host bits when made canonical",
        arguments: [
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("10.1.2.3/0", "0.0.0.0/0"),
            ("10.1.2.3/32", "10.1.2.3/32"),
            ("172.31.255.255/12", "172.16.0.0/12"),
            ("10.1.2.3/31", "10.1.2.2/31"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0", "::/0"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1", "8000::/1"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/63", "ffff:ffff:ffff:fffe::/63"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/64", "ffff:ffff:ffff:ffff::/64"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/65", "ffff:ffff:ffff:ffff:8000::/65"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
        ]
    )
    func canonicalizes(text: String, expected: String) throws {
        let prefix = try #require(IPPrefix(text))
        #expect(prefix.canonical.description == expected)
    }

    @Test(
        "tests whether it contains an address",
        arguments: [
            ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("10.0.0.0/8", "9.255.255.255", false),
            ("10.9.9.9/8", "10.0.0.1", true),
            ("0.0.0.0/0", "255.255.255.255", true),
            ("0.0.0.0/0", "::", false),
            ("10.0.0.1/32", "10.0.0.1", true),
            ("10.0.0.1/32", "10.0.0.2", false),
            ("fd00::/8", "fdff:ffff::1", true),
            ("fd00::/8", "fe00::", false),
            ("::/0", "0.0.0.0", false),
            ("::/0", "ffff::", true),
            ("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", true),
            ("2001:db8::/64", "2001:db8:0:1::", false),
            ("2001:db8::/96", "2001:db8::ffff:ffff", true),
            ("2001:db8::/96", "2001:db8::1:0:0", false),
        ]
    )
    func containsAddress(prefix: String, address: String, expected: Bool) throws {
        let prefix = try #require(IPPrefix(prefix))
        let address = try #require(IPAddress(address))
        #expect(prefix.contains(address) == expected)
    }

    @Test(
        "tests containment and overlap between prefixes",
        arguments: [
            // (a, b, a contains b, b contains a)
            ("10.0.0.0/8", "10.1.0.0/16", true, false),
            ("10.0.0.0/8", "10.0.0.0/8", true, true),
            ("10.0.0.0/8", "11.0.0.0/8", false, false),
            ("10.0.0.0/7", "11.0.0.0/8", true, false),
            ("0.0.0.0/0", "192.168.0.0/16", true, false),
            ("192.168.1.0/24", "192.168.2.0/24", false, false),
            ("192.168.1.128/25", "192.168.1.0/25", false, false),
            ("10.0.0.0/8", "fd00::/8", false, false),
            ("::/0", "0.0.0.0/0", false, false),
            ("fd00::/8", "fd12:3456::/32", true, false),
            ("fd00::/8", "fc00::/8", false, false),
            ("fc00::/7", "fd00::/8", true, false),
            ("2001:db8::/64", "2001:db8::/65", true, false),
            ("2001:db8::/65", "2001:db8:0:0:8000::/65", false, false),
        ]
    )
    func containsAndOverlapsPrefix(a: String, b: String, aContainsB: Bool, bContainsA: Bool) throws {
        let a = try #require(IPPrefix(a))
        let b = try #require(IPPrefix(b))
        #expect(a.contains(b) == aContainsB)
        #expect(b.contains(a) == bContainsA)
        #expect(a.overlaps(b) == (aContainsB || bContainsA))
        #expect(b.overlaps(a) == a.overlaps(b))
    }

    @Test("compares host bits when testing equality")
    func equalityKeepsHostBits() throws {
        let withHostBits = try #require(IPPrefix("10.1.2.3/8"))
        let canonical = try #require(IPPrefix("10.0.0.0/8"))
        #expect(withHostBits != canonical)
        #expect(withHostBits.canonical == canonical)
    }

    @Test("orders by address, then by length")
    func ordering() throws {
        let prefixes = try ["fd00::/8", "10.0.0.0/16", "10.0.0.0/8", "9.0.0.0/8", "::/0"].map {
            try #require(IPPrefix($0))
        }
        #expect(prefixes.sorted().map(\.description) == ["9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "::/0", "fd00::/8"])
    }
}
