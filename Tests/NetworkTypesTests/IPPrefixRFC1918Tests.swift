import NetworkTypes
import Testing

@Suite("IPPrefix private address space")
struct IPPrefixRFC1918Tests {
    @Test(
        "accepts prefixes entirely inside RFC 1918 or ULA space",
        arguments: [
            "10.0.0.0/8", "10.1.2.0/24", "10.255.255.255/32", "172.16.0.0/12", "172.31.0.0/16",
            "172.20.1.1", "192.168.0.0/16", "192.168.100.0/24", "fc00::/7", "fd00::/8", "fc00::/8",
            "fd12:3456:789a::/48", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        ]
    )
    func acceptsPrivate(text: String) throws {
        let prefix = try #require(IPPrefix(text))
        #expect(prefix.isPrivate)
    }

    @Test(
        "rejects prefixes that are public or only partly private",
        arguments: [
            "10.0.0.0/7", "11.0.0.0/8", "172.32.0.0/16", "172.15.255.0/24", "172.16.0.0/11",
            "192.169.0.0/16", "192.168.0.0/15", "0.0.0.0/0", "100.64.0.0/10", "127.0.0.1",
            "169.254.0.0/16", "8.8.8.8", "fc00::/6", "fe00::/8", "fe80::/10", "2001:db8::/32", "::/0",
            "::1", "::ffff:10.0.0.0/104",
        ]
    )
    func rejectsPublic(text: String) throws {
        let prefix = try #require(IPPrefix(text))
        #expect(!prefix.isPrivate)
    }
}
