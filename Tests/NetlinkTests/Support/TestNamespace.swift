import Foundation
import Glibc
import Testing

/// A network namespace made for one test with `ip netns add`, with a name no other test or run uses.
struct TestNamespace: CustomStringConvertible {
    let name: String

    var description: String { name }

    /// Creates a namespace, runs `body` with it and deletes it afterwards, even when `body` throws, then
    /// checks that it is gone.
    static func with<R>(_ body: (TestNamespace) async throws -> R) async throws -> R {
        let namespace = TestNamespace(
            name: String(format: "mgt-nl-%05x-%06x", getpid() & 0xfffff, UInt32.random(in: 0..<0xffffff)))
        try run("ip", "netns", "add", namespace.name)
        defer {
            _ = try? run("ip", "netns", "del", namespace.name, check: false)
            #expect(access("/var/run/netns/\(namespace.name)", F_OK) != 0, "namespace \(namespace.name) leaked")
        }
        return try await body(namespace)
    }

    /// Runs `ip -n NAME arguments…` and returns its stdout; throws when it fails.
    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        let output = try SpawnedCommand(["ip", "-n", name] + arguments).wait()
        guard output.succeeded else { throw CommandFailure(description: "command failed: \(output)") }
        return output.standardOutput
    }

    /// Runs `ip -j -n NAME arguments…` and decodes its JSON.
    func ipJSON<T: Decodable>(_ type: T.Type, _ arguments: String...) throws -> T {
        let output = try SpawnedCommand(["ip", "-j", "-n", name] + arguments).wait()
        guard output.succeeded else { throw CommandFailure(description: "command failed: \(output)") }
        // `ip -j` prints nothing at all (not "[]") for some empty results.
        let text = output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        return try JSONDecoder().decode(T.self, from: Data((text.isEmpty ? "[]" : text).utf8))
    }

    /// Adds a veth pair `first`/`second` in this namespace, both up, `first` with `mtu` and `mac`.
    func addVethPair(_ first: String, _ second: String, mtu: Int = 1500, mac: String? = nil) throws {
        var arguments = ["ip", "-n", name, "link", "add", "name", first, "mtu", "\(mtu)"]
        if let mac { arguments += ["address", mac] }
        arguments += ["type", "veth", "peer", "name", second]
        let output = try SpawnedCommand(arguments).wait()
        guard output.succeeded else { throw CommandFailure(description: "command failed: \(output)") }
        try ip("link", "set", first, "up")
        try ip("link", "set", second, "up")
    }

    /// The index of interface `name` as `ip` sees it.
    func index(of interface: String) throws -> Int32 {
        let links = try ipJSON([IPLink].self, "link", "show", "dev", interface)
        guard let link = links.first else { throw CommandFailure(description: "no interface \(interface) in \(name)") }
        return link.ifindex
    }
}

/// `ip -j link` output, the fields the tests read.
struct IPLink: Decodable {
    let ifindex: Int32
    let ifname: String
    let flags: [String]
    let mtu: Int
    let address: String?
}

/// `ip -j addr` output.
struct IPAddressList: Decodable {
    struct Info: Decodable {
        let family: String
        let local: String
        let prefixlen: Int
        let valid_life_time: UInt64?
        let preferred_life_time: UInt64?
    }
    let ifname: String
    let addr_info: [Info]
}

/// `ip -j route` output.
struct IPRoute: Decodable, CustomStringConvertible {
    let dst: String
    let gateway: String?
    let dev: String?
    let metric: UInt32?
    let prefsrc: String?
    let `protocol`: String?

    var description: String {
        "\(dst)" + (gateway.map { " via \($0)" } ?? "") + (dev.map { " dev \($0)" } ?? "")
            + (metric.map { " metric \($0)" } ?? "") + (prefsrc.map { " src \($0)" } ?? "")
    }
}

/// `ip -j neigh` output.
struct IPNeighbor: Decodable {
    let dst: String
    let lladdr: String?
    let state: [String]?
}

/// `aa:bb:cc:dd:ee:ff` for six bytes.
func macText(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
}
