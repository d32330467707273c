import Foundation
import NFTables

/// A network namespace made with `ip netns add` for one test, deleted by ``remove()`` (call it in a `defer`).
///
/// ``makeSocket()`` enters the namespace on the calling thread just long enough to create an
/// ``NFTablesSocket``, which then stays bound to the namespace wherever it is used.
struct TestNamespace {
    let name: String

    /// `ip netns add mgt-nft-<role>-<random>`.
    init(role: String) throws {
        name = "mgt-nft-\(role)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        try Shell.check("ip", "netns", "add", name)
        try Shell.check("ip", "-n", name, "link", "set", "lo", "up")
    }

    /// Deletes the namespace; returns an error description if it is still listed afterwards.
    @discardableResult
    func remove() -> String? {
        _ = try? Shell.run("ip", "netns", "del", name)
        let listed = (try? Shell.run("ip", "netns", "list").standardOutput) ?? ""
        return listed.split(separator: "\n").contains { $0.split(separator: " ").first.map(String.init) == name }
            ? "namespace \(name) leaked" : nil
    }

    /// Runs `arguments` inside the namespace (`ip netns exec`); it must succeed.
    @discardableResult
    func check(_ arguments: String..., timeLimit: Duration = .seconds(20)) throws -> String {
        try Shell.check(["ip", "netns", "exec", name] + arguments, timeLimit: timeLimit)
    }

    /// Creates an nftables socket inside this namespace.
    func makeSocket() throws -> NFTablesSocket {
        try NamespaceEntry.withThreadInNamespace(path: "/var/run/netns/\(name)") { try NFTablesSocket() }
    }

    /// `nft -j list table inet <table>`, parsed: the `nftables` array of single-key objects.
    func listTableJSON(_ table: String) throws -> [[String: Any]] {
        let text = try check("nft", "-j", "list", "table", "inet", table)
        let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        guard let items = root?["nftables"] as? [[String: Any]] else {
            throw ShellError(description: "unexpected nft JSON: \(text)")
        }
        return items
    }

    /// The names of all tables as `family name`, from `nft -j list tables`.
    func tables() throws -> Set<String> {
        let text = try check("nft", "-j", "list", "tables")
        let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let items = root?["nftables"] as? [[String: Any]] ?? []
        return Set(
            items.compactMap { $0["table"] as? [String: Any] }.compactMap { table in
                guard let family = table["family"] as? String, let name = table["name"] as? String else { return nil }
                return "\(family) \(name)"
            })
    }
}

/// setns(2) for the tests. The tests may not depend on CLinuxShims, and Swift's Glibc module hides `setns`
/// (it is `_GNU_SOURCE`-only) and cannot call the variadic `syscall`, so the symbol is looked up in libc.
enum NamespaceEntry {
    private typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    /// CLONE_NEWNET from <sched.h>, also hidden behind `_GNU_SOURCE`.
    private static let cloneNewNet: Int32 = 0x4000_0000

    private static func setns(_ fd: Int32) -> Int32 {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setns") else { return -1 }
        return unsafeBitCast(symbol, to: SetNamespace.self)(fd, cloneNewNet)
    }

    /// Runs `body` with the calling thread in the namespace at `path`, then moves it back. `body` must not
    /// suspend: the namespace belongs to the thread, not the task.
    static func withThreadInNamespace<R>(path: String, _ body: () throws -> R) throws -> R {
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw ShellError(description: "open \(path): errno \(errno)") }
        defer { close(target) }
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw ShellError(description: "open /proc/thread-self/ns/net: errno \(errno)") }
        defer { close(original) }
        guard setns(target) == 0 else { throw ShellError(description: "setns \(path): errno \(errno)") }
        // A thread left in the test namespace would run later tests there: stop rather than continue.
        defer { precondition(setns(original) == 0, "setns back to the original network namespace failed") }
        return try body()
    }
}
