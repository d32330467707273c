// A two-namespace lab for privileged integration tests.
//
//   namespace mgtest-<pid>-<id>-a              namespace mgtest-<pid>-<id>-b
//   ┌─────────────────────────────┐           ┌─────────────────────────────┐
//   │ mg<id>a0 (WireGuard, TUN)   │           │ mg<id>b0 (WireGuard, TUN)   │
//   │   10.77.0.1/24 fd77::1/64   │  tunnel   │   10.77.0.2/24 fd77::2/64   │
//   │ mg<id>va (veth) ────────────┼───────────┼──── mg<id>vb (veth)         │
//   │   192.0.2.1/24 fd00:77::1   │   outer   │   192.0.2.2/24 fd00:77::2   │
//   └─────────────────────────────┘           └─────────────────────────────┘
//
// Every name carries a random lab id, so labs run in parallel (and beside other test runs) without
// colliding; interface names stay within IFNAMSIZ (15 bytes). /var/run/wireguard is shared by all
// namespaces, which is why WireGuard interface names must be unique across labs too.
//
// Teardown (`shutdown()`) stops every process the lab started, then proves nothing leaked: no process
// left in the namespaces or naming one of the lab's interfaces, no UAPI socket, no namespace. `deinit`
// repeats the cleanup (without the checks) if a test never reached `shutdown()`, and the first lab of
// a test process sweeps away the namespaces of earlier test processes that died.

import Foundation
import Synchronization

/// Which WireGuard implementation serves an interface.
public enum WireGuardImplementation: String, Sendable, CaseIterable, CustomStringConvertible {
    case meshgate = "meshgate-wg"
    case wireguardGo = "wireguard-go"

    public var description: String { rawValue }
}

/// An IP family, for the outer (underlay) or inner (tunnelled) addresses.
public enum IPFamily: String, Sendable, CaseIterable, CustomStringConvertible {
    case v4 = "IPv4"
    case v6 = "IPv6"

    public var description: String { rawValue }
}

/// One namespace of a lab with its end of the veth pair. Addresses end in ``index``.
public struct LabNode: Sendable, Hashable, CustomStringConvertible {
    /// `a` or `b`.
    public let label: String
    /// 1 for `a`, 2 for `b`: the last part of every address of this node.
    public let index: Int
    public let namespace: String
    public let veth: String

    /// The veth address of `family` (no prefix length).
    public func outerAddress(_ family: IPFamily) -> String {
        family == .v4 ? "192.0.2.\(index)" : "fd00:77::\(index)"
    }

    /// The default tunnel address of `family` for this node's WireGuard interface.
    public func innerAddress(_ family: IPFamily) -> String {
        family == .v4 ? "10.77.0.\(index)" : "fd77::\(index)"
    }

    public var description: String { "node \(label) (\(namespace))" }
}

/// A WireGuard interface running in a lab node.
public struct WireGuardInterface: Sendable, CustomStringConvertible {
    public let implementation: WireGuardImplementation
    public let name: String
    public let node: LabNode
    public let privateKey: String
    public let publicKey: String
    public let listenPort: UInt16
    /// The daemon, nil when it was started by someone else (wg-quick).
    public let process: ChildProcess?

    public init(
        implementation: WireGuardImplementation, name: String, node: LabNode, privateKey: String, publicKey: String,
        listenPort: UInt16, process: ChildProcess?
    ) {
        self.implementation = implementation
        self.name = name
        self.node = node
        self.privateKey = privateKey
        self.publicKey = publicKey
        self.listenPort = listenPort
        self.process = process
    }

    /// The interface's tunnel address of `family`.
    public func innerAddress(_ family: IPFamily) -> String { node.innerAddress(family) }

    /// How a peer reaches this interface over `family`: `192.0.2.1:51000` or `[fd00:77::1]:51000`.
    public func endpoint(_ family: IPFamily) -> String {
        family == .v4 ? "\(node.outerAddress(.v4)):\(listenPort)" : "[\(node.outerAddress(.v6))]:\(listenPort)"
    }

    /// The UAPI socket path.
    public var socketPath: String { "\(NetnsLab.socketDirectory)/\(name).sock" }

    public var description: String { "\(implementation) \(name) in \(node)" }
}

/// Two interfaces configured as each other's peer.
public struct Tunnel: Sendable {
    /// The interface in node `a` and the one in node `b`.
    public let a: WireGuardInterface
    public let b: WireGuardInterface
    /// The side that was given the other's endpoint, so it sends the first handshake initiation.
    public let initiator: WireGuardInterface
    public let responder: WireGuardInterface
    public let presharedKey: String?
}

/// Which side of a ``Tunnel`` knows the other's endpoint.
public enum TunnelInitiator: String, Sendable, CaseIterable {
    case a, b
}

/// `ping` statistics.
public struct PingResult: Sendable, CustomStringConvertible {
    public let transmitted: Int
    public let received: Int
    public let output: String

    public var lost: Int { transmitted - received }
    public var description: String { "\(received)/\(transmitted) replies\n\(output.suffixLines(15))" }
}

/// A pair of network namespaces joined by a veth pair, with helpers to run WireGuard in them.
///
/// Safe to use from several tasks. Create it with ``withLab(_:)`` so teardown always runs.
public final class NetnsLab: Sendable {
    /// Where wireguard-tools finds userspace interfaces (shared by every namespace).
    public static let socketDirectory = "/var/run/wireguard"
    /// How long a daemon may take to exit after SIGTERM before it counts as hung.
    public static let stopGrace: Duration = .seconds(5)

    /// Six hex digits, unique per lab.
    public let id: String
    /// Scratch directory for keys, configs and logs; removed at teardown.
    public let directory: String
    public let a: LabNode
    public let b: LabNode
    public let meshgateBinary: String

    private struct TrackedProcess {
        let process: ChildProcess
        let label: String
        /// A daemon must still run at teardown unless the test stopped it; helpers may finish earlier.
        let isDaemon: Bool
        var stoppedByTest = false
    }

    private struct State {
        var processes: [TrackedProcess] = []
        var interfaceNames: [String] = []
        var nextInterfaceNumber = 0
        var isShutDown = false
    }

    private let state = Mutex(State())
    private static let sweptStaleLabs = Mutex(false)

    private var namespacePrefix: String { "mgtest-\(getpid())-\(id)-" }

    private init(id: String, meshgateBinary: String) {
        self.id = id
        self.meshgateBinary = meshgateBinary
        self.directory = "/tmp/mgtest-\(getpid())-\(id)"
        let prefix = "mgtest-\(getpid())-\(id)-"
        self.a = LabNode(label: "a", index: 1, namespace: prefix + "a", veth: "mg\(id)va")
        self.b = LabNode(label: "b", index: 2, namespace: prefix + "b", veth: "mg\(id)vb")
    }

    deinit {
        let isShutDown = state.withLock { $0.isShutDown }
        if !isShutDown { forceCleanup() }
    }

    // MARK: - Life cycle

    /// Creates a lab, runs `body` with it, then tears it down and checks for leftovers.
    ///
    /// Throws `body`'s error if it failed (combined with any leftovers found), otherwise
    /// ``LabError/leaked(_:)`` if teardown found something left behind.
    ///
    /// - Parameter weight: how many of the machine's lab slots the test needs (see `LabSlots`): more
    ///   for bulk traffic, or for timing that other labs' load could disturb.
    public static func withLab<T>(weight: Int = 1, _ body: (NetnsLab) async throws -> T) async throws -> T {
        let taken = await LabSlots.shared.acquire(weight: weight)
        do {
            let value = try await runLab(body)
            await LabSlots.shared.release(taken)
            return value
        } catch {
            await LabSlots.shared.release(taken)
            throw error
        }
    }

    private static func runLab<T>(_ body: (NetnsLab) async throws -> T) async throws -> T {
        let lab = try await NetnsLab.make()
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body(lab))
        } catch {
            outcome = .failure(error)
        }
        let leftovers = await lab.shutdown()
        switch outcome {
        case .success(let value):
            if !leftovers.isEmpty { throw LabError.leaked(leftovers) }
            return value
        case .failure(let error):
            if !leftovers.isEmpty { throw LabError.failedAndLeaked(error, leftovers) }
            throw error
        }
    }

    /// Creates the namespaces and the veth pair with both outer address families configured.
    /// Prefer ``withLab(_:)``; whoever calls this must call ``shutdown()``.
    public static func make() async throws -> NetnsLab {
        let binary = try LabEnvironment.meshgateBinary()
        await sweepStaleLabs()
        var id = ""
        repeat {
            id = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)
            id = String(repeating: "0", count: 6 - id.count) + id
        } while FileManager.default.fileExists(atPath: "/run/netns/mgtest-\(getpid())-\(id)-a")
            || isInterfacePrefixInUse("mg\(id)")
        let lab = NetnsLab(id: id, meshgateBinary: binary)
        do {
            try FileManager.default.createDirectory(atPath: lab.directory, withIntermediateDirectories: true)
            try await Command.run(["ip", "netns", "add", lab.a.namespace])
            try await Command.run(["ip", "netns", "add", lab.b.namespace])
            try await Command.run([
                "ip", "link", "add", lab.a.veth, "netns", lab.a.namespace, "type", "veth", "peer", "name", lab.b.veth,
                "netns", lab.b.namespace,
            ])
            for node in [lab.a, lab.b] {
                try await lab.ipBatch(
                    node,
                    [
                        "link set lo up",
                        "address add \(node.outerAddress(.v4))/24 dev \(node.veth)",
                        "address add \(node.outerAddress(.v6))/64 dev \(node.veth) nodad",
                        "link set \(node.veth) up",
                    ])
            }
        } catch {
            _ = await lab.shutdown()
            throw error
        }
        return lab
    }

    /// True when a UAPI socket already starts with `prefix` (a lab of another test process drew the same id).
    private static func isInterfacePrefixInUse(_ prefix: String) -> Bool {
        let sockets = (try? FileManager.default.contentsOfDirectory(atPath: socketDirectory)) ?? []
        return sockets.contains { $0.hasPrefix(prefix) }
    }

    /// Stops everything the lab started and removes the namespaces; returns what was left behind or
    /// misbehaved (empty when all is clean). Calling it again returns an empty list.
    public func shutdown() async -> [String] {
        let (processes, interfaceNames, wasShutDown) = state.withLock { state in
            defer { state.isShutDown = true }
            return (state.processes, state.interfaceNames, state.isShutDown)
        }
        if wasShutDown { return [] }
        var problems: [String] = []

        // 1. Daemons must still be alive (a crash during the test is a finding) and stop on SIGTERM.
        for tracked in processes {
            if let status = tracked.process.status {
                if tracked.isDaemon && !tracked.stoppedByTest {
                    problems.append(
                        "\(tracked.label) exited during the test (\(status)); its stderr ends with:\n"
                            + tracked.process.standardError.suffixLines(20))
                }
                continue
            }
            tracked.process.send(signal: SIGTERM)
        }
        for tracked in processes where tracked.process.isRunning {
            guard let status = await tracked.process.waitForExit(timeout: NetnsLab.stopGrace) else {
                problems.append("\(tracked.label) did not exit within \(NetnsLab.stopGrace) of SIGTERM; killed")
                tracked.process.send(signal: SIGKILL)
                await tracked.process.waitForExit(timeout: .seconds(5))
                continue
            }
            if tracked.isDaemon, status != .exited(0), status != .signaled(SIGTERM) {
                problems.append(
                    "\(tracked.label) ended badly after SIGTERM (\(status)); its stderr ends with:\n"
                        + tracked.process.standardError.suffixLines(20))
            }
        }

        // 2. Nothing else may still run in the namespaces or name one of the lab's interfaces
        //    (daemons started by wg-quick are not tracked, but must be gone by now).
        for node in [a, b] {
            guard let result = try? await Command.run(["ip", "netns", "pids", node.namespace], check: false),
                result.succeeded
            else { continue }
            for pid in result.standardOutput.split(separator: "\n").compactMap({ Int32($0) })
            where ProcessTable.isAlive(pid) {
                problems.append(
                    "process \(pid) `\(ProcessTable.commandLine(of: pid) ?? "?")` still running in "
                        + "\(node.namespace); killed"
                )
                kill(pid, SIGKILL)
            }
        }
        for name in interfaceNames {
            for entry in ProcessTable.processes(commandLineContaining: name) {
                problems.append("\(entry) still running at teardown; killed")
                kill(entry.pid, SIGKILL)
            }
        }

        // 3. Every daemon removes its UAPI socket when it stops.
        for name in interfaceNames {
            let path = "\(NetnsLab.socketDirectory)/\(name).sock"
            if FileManager.default.fileExists(atPath: path) {
                problems.append("UAPI socket \(path) left behind; removed")
                try? FileManager.default.removeItem(atPath: path)
            }
        }

        // 4. The namespaces go, taking the veth pair and any interface still in them.
        for node in [a, b] {
            if FileManager.default.fileExists(atPath: "/run/netns/\(node.namespace)") {
                if let result = try? await Command.run(["ip", "netns", "delete", node.namespace], check: false),
                    !result.succeeded
                {
                    problems.append("cannot delete namespace \(node.namespace): \(result)")
                }
            }
        }
        if let list = try? await Command.run(["ip", "netns", "list"], check: false) {
            let left = list.standardOutput.split(separator: "\n").filter { $0.hasPrefix(namespacePrefix) }
            if !left.isEmpty { problems.append("namespaces left behind: \(left.joined(separator: ", "))") }
        }
        try? FileManager.default.removeItem(atPath: directory)
        return problems
    }

    /// Best-effort cleanup without checks, for a lab dropped without ``shutdown()``.
    private func forceCleanup() {
        let (processes, names) = state.withLock { ($0.processes, $0.interfaceNames) }
        for tracked in processes {
            tracked.process.send(signal: SIGKILL)
            tracked.process.waitForExitBlocking(timeout: .seconds(5))
        }
        for node in [a, b] {
            let pids = Command.runBlocking(["ip", "netns", "pids", node.namespace])?.standardOutput ?? ""
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            Command.runBlocking(["ip", "netns", "delete", node.namespace])
        }
        for name in names { unlink("\(NetnsLab.socketDirectory)/\(name).sock") }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Removes the namespaces, processes and sockets of labs whose test process has died
    /// (namespaces are named `mgtest-<pid>-<id>-…`). Runs once per test process.
    private static func sweepStaleLabs() async {
        let alreadySwept = sweptStaleLabs.withLock { swept in
            defer { swept = true }
            return swept
        }
        if alreadySwept { return }
        guard let list = try? await Command.run(["ip", "netns", "list"], check: false) else { return }
        for line in list.standardOutput.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "mgtest", let pid = Int32(parts[1]), pid != getpid(),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            if let pids = try? await Command.run(["ip", "netns", "pids", name], check: false) {
                for pid in pids.standardOutput.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? await Command.run(["ip", "netns", "delete", name], check: false)
            let sockets = (try? FileManager.default.contentsOfDirectory(atPath: socketDirectory)) ?? []
            for socket in sockets where socket.hasPrefix("mg\(parts[2])") {
                unlink("\(socketDirectory)/\(socket)")
            }
            try? FileManager.default.removeItem(atPath: "/tmp/mgtest-\(pid)-\(parts[2])")
        }
    }

    // MARK: - Running commands

    /// Runs `arguments` inside `node`'s namespace (`ip netns exec`).
    @discardableResult
    public func run(
        in node: LabNode, _ arguments: [String], environment: [String: String] = [:], input: String? = nil,
        timeout: Duration = .seconds(30), check: Bool = true
    ) async throws -> CommandResult {
        try await Command.run(
            ["ip", "netns", "exec", node.namespace] + arguments, environment: environment, input: input,
            timeout: timeout, check: check)
    }

    /// Runs `ip -batch` in `node`'s namespace with one `ip` command per line.
    public func ipBatch(_ node: LabNode, _ commands: [String]) async throws {
        try await Command.run(
            ["ip", "-n", node.namespace, "-batch", "-"], input: commands.joined(separator: "\n") + "\n")
    }

    /// Starts `arguments` in `node`'s namespace in the background; it is stopped at teardown.
    /// - Parameter isDaemon: a daemon that exits before teardown without ``stop(_:)`` counts as a failure.
    public func startProcess(
        in node: LabNode, _ arguments: [String], environment: [String: String] = [:], label: String,
        isDaemon: Bool = false
    ) throws -> ChildProcess {
        try state.withLock { state in
            precondition(!state.isShutDown, "lab \(id) used after shutdown")
            let process = try Command.start(
                ["ip", "netns", "exec", node.namespace] + arguments, environment: environment,
                outputDirectory: directory)
            state.processes.append(TrackedProcess(process: process, label: label, isDaemon: isDaemon))
            return process
        }
    }

    /// Stops a process started by the lab with SIGTERM (SIGKILL after ``stopGrace``); returns its status.
    @discardableResult
    public func stop(_ process: ChildProcess) async -> ExitStatus? {
        state.withLock { state in
            for i in state.processes.indices where state.processes[i].process === process {
                state.processes[i].stoppedByTest = true
            }
        }
        process.send(signal: SIGTERM)
        if let status = await process.waitForExit(timeout: NetnsLab.stopGrace) { return status }
        process.send(signal: SIGKILL)
        await process.waitForExit(timeout: .seconds(5))
        return nil
    }

    /// Writes `contents` to a file in the lab directory, readable by root only; returns its path.
    public func writeFile(_ name: String, _ contents: String) throws -> String {
        let path = "\(directory)/\(name)"
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600])
        else { throw LabError.unexpectedOutput(command: "create \(path)", output: "") }
        return path
    }

    // MARK: - WireGuard interfaces

    /// A fresh interface name registered with the lab (so teardown checks its socket and process),
    /// for interfaces that the test creates itself, e.g. through wg-quick.
    public func reserveInterfaceName(on node: LabNode) -> String {
        state.withLock { state in
            let name = "mg\(id)\(node.label)\(state.nextInterfaceNumber)"
            state.nextInterfaceNumber += 1
            state.interfaceNames.append(name)
            return name
        }
    }

    /// A new private key (`wg genkey`) and its public key (`wg pubkey`).
    public func makeKeyPair() async throws -> (privateKey: String, publicKey: String) {
        let privateKey = try await Command.run(["wg", "genkey"]).standardOutput.trimmed
        let publicKey = try await Command.run(["wg", "pubkey"], input: privateKey + "\n").standardOutput.trimmed
        return (privateKey, publicKey)
    }

    /// A new preshared key (`wg genpsk`).
    public func makePresharedKey() async throws -> String {
        try await Command.run(["wg", "genpsk"]).standardOutput.trimmed
    }

    /// Starts `implementation` in the foreground in `node`, waits for its TUN interface and UAPI socket,
    /// then gives it a new private key and `listenPort` with `wg set`, adds the node's tunnel addresses
    /// and brings it up. It has no peers yet.
    ///
    /// - Parameter environment: extra variables for the daemon (`LOG_LEVEL` defaults to `debug`).
    public func startInterface(
        _ implementation: WireGuardImplementation, on node: LabNode, listenPort: UInt16 = 51820,
        environment: [String: String] = [:], addresses: Bool = true
    ) async throws -> WireGuardInterface {
        let name = reserveInterfaceName(on: node)
        let program = implementation == .meshgate ? meshgateBinary : "wireguard-go"
        let process = try startProcess(
            in: node, [program, "-f", name], environment: ["LOG_LEVEL": "debug"].merging(environment) { $1 },
            label: "\(implementation) \(name)", isDaemon: true)
        try await waitUntilReady(name, in: node, process: process)
        let keys = try await makeKeyPair()
        let keyFile = try writeFile("\(name).key", keys.privateKey + "\n")
        try await run(in: node, ["wg", "set", name, "private-key", keyFile, "listen-port", "\(listenPort)"])
        if addresses {
            try await ipBatch(
                node,
                [
                    "address add \(node.innerAddress(.v4))/24 dev \(name)",
                    "address add \(node.innerAddress(.v6))/64 dev \(name) nodad",
                    "link set \(name) up",
                ])
        }
        return WireGuardInterface(
            implementation: implementation, name: name, node: node, privateKey: keys.privateKey,
            publicKey: keys.publicKey, listenPort: listenPort, process: process)
    }

    /// Waits until interface `name` exists in `node` and its UAPI socket answers.
    public func waitUntilReady(
        _ name: String, in node: LabNode, process: ChildProcess?, timeout: Duration = .seconds(10)
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        let socket = "\(NetnsLab.socketDirectory)/\(name).sock"
        while ContinuousClock.now < deadline {
            if let process, let status = process.status {
                throw LabError.daemonNotReady(
                    interface: name, detail: "it exited (\(status)); stderr:\n\(process.standardError.suffixLines(30))")
            }
            if FileManager.default.fileExists(atPath: socket),
                let link = try? await Command.run(["ip", "-n", node.namespace, "link", "show", name], check: false),
                link.succeeded
            {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LabError.daemonNotReady(
            interface: name,
            detail:
                "no interface and UAPI socket after \(timeout); stderr:\n"
                + (process?.standardError.suffixLines(30) ?? "")
        )
    }

    /// Makes `peer` a peer of `interface`: allowed IPs are `peer`'s tunnel addresses (/32 and /128);
    /// with `endpointFamily`, `interface` also gets `peer`'s endpoint over that family.
    public func addPeer(
        _ peer: WireGuardInterface, to interface: WireGuardInterface, endpointFamily: IPFamily? = nil,
        presharedKey: String? = nil, persistentKeepalive: Int? = nil
    ) async throws {
        var arguments = [
            "wg", "set", interface.name, "peer", peer.publicKey, "allowed-ips",
            "\(peer.innerAddress(.v4))/32,\(peer.innerAddress(.v6))/128",
        ]
        if let endpointFamily { arguments += ["endpoint", peer.endpoint(endpointFamily)] }
        if let presharedKey {
            arguments += ["preshared-key", try writeFile("\(interface.name)-\(peer.name).psk", presharedKey + "\n")]
        }
        if let persistentKeepalive { arguments += ["persistent-keepalive", "\(persistentKeepalive)"] }
        try await run(in: interface.node, arguments)
    }

    /// Starts `implementationA` in node `a` and `implementationB` in node `b` and makes them peers.
    /// Only the initiator learns the responder's endpoint (over `outer`); the responder learns the
    /// initiator's from the first handshake.
    public func makeTunnel(
        a implementationA: WireGuardImplementation, b implementationB: WireGuardImplementation,
        initiator: TunnelInitiator = .a, outer: IPFamily = .v4, presharedKey usesPresharedKey: Bool = false,
        environmentA: [String: String] = [:], environmentB: [String: String] = [:]
    ) async throws -> Tunnel {
        async let startingA = startInterface(implementationA, on: a, listenPort: 51820, environment: environmentA)
        async let startingB = startInterface(implementationB, on: b, listenPort: 51821, environment: environmentB)
        let (interfaceA, interfaceB) = try await (startingA, startingB)
        let presharedKey = usesPresharedKey ? try await makePresharedKey() : nil
        let (initiating, responding) = initiator == .a ? (interfaceA, interfaceB) : (interfaceB, interfaceA)
        try await addPeer(initiating, to: responding, presharedKey: presharedKey)
        try await addPeer(responding, to: initiating, endpointFamily: outer, presharedKey: presharedKey)
        return Tunnel(
            a: interfaceA, b: interfaceB, initiator: initiating, responder: responding, presharedKey: presharedKey)
    }

    /// `wg show INTERFACE dump`, parsed.
    public func dump(_ interface: WireGuardInterface) async throws -> WireGuardDump {
        try WireGuardDump(
            parsing: try await run(in: interface.node, ["wg", "show", interface.name, "dump"]).standardOutput)
    }

    /// `wg showconf INTERFACE`.
    public func showConfiguration(_ interface: WireGuardInterface) async throws -> String {
        try await run(in: interface.node, ["wg", "showconf", interface.name]).standardOutput
    }

    /// Sends `request` (for example `"get=1\n\n"`) on `interface`'s UAPI socket and returns the raw
    /// reply, read up to the blank line that ends it (or until the daemon closes the connection).
    public func uapi(_ interface: WireGuardInterface, _ request: String) async throws -> String {
        try await Command.run(
            [LabEnvironment.python, "-c", LabScripts.uapiClient, interface.socketPath], input: request,
            timeout: .seconds(10)
        ).standardOutput
    }

    // MARK: - Traffic

    /// Runs `ping` in `from` and parses its summary; never throws for lost replies.
    /// - Parameters:
    ///   - interval: seconds between requests (below 0.2 needs root, which the lab has).
    ///   - size: ICMP payload bytes (`ping -s`).
    ///   - wait: seconds to wait for each reply (`ping -W`).
    public func ping(
        from node: LabNode, to address: String, count: Int, interval: Double = 0.2, size: Int? = nil,
        wait: Int = 2
    ) async throws -> PingResult {
        var arguments = ["ping", "-n", "-c", "\(count)", "-i", "\(interval)", "-W", "\(wait)"]
        if let size { arguments += ["-s", "\(size)"] }
        let runtime = Double(count) * interval + Double(wait) + 10
        let result = try await run(
            in: node, arguments + [address], timeout: .milliseconds(Int(runtime * 1000)), check: false)
        let output = result.standardOutput + result.standardError
        guard let summary = output.split(separator: "\n").first(where: { $0.contains("packets transmitted") }) else {
            throw LabError.unexpectedOutput(command: arguments.joined(separator: " "), output: output)
        }
        let numbers = summary.split(separator: ",").map { part in
            Int(part.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber }) ?? -1
        }
        guard numbers.count >= 2 else {
            throw LabError.unexpectedOutput(command: arguments.joined(separator: " "), output: output)
        }
        return PingResult(transmitted: numbers[0], received: numbers[1], output: output)
    }

    /// Pings once a second-ish until a reply comes back; throws if none within `timeout`.
    /// Returns how long it took.
    @discardableResult
    public func waitUntilReachable(
        from node: LabNode, to address: String, timeout: Duration = .seconds(10)
    ) async throws -> Duration {
        let start = ContinuousClock.now
        var last: PingResult?
        while ContinuousClock.now - start < timeout {
            let result = try await ping(from: node, to: address, count: 1, wait: 1)
            if result.received == 1 { return ContinuousClock.now - start }
            last = result
        }
        throw LabError.timedOut(
            "\(address) unreachable from \(node) for \(timeout); last ping: \(last?.description ?? "none")")
    }

    /// Sends `byteCount` bytes from a seeded generator over TCP from `sender` to `address` (which must be
    /// an address of `receiver`), and returns what each side counted and hashed.
    public func transferTCP(
        from sender: LabNode, to receiver: LabNode, address: String, port: Int = 5201, byteCount: Int,
        seed: Int = 1, timeout: Duration = .seconds(60)
    ) async throws -> TCPTransferResult {
        let server = try startProcess(
            in: receiver, [LabEnvironment.python, "-u", "-c", LabScripts.tcpSink, address, "\(port)"],
            label: "TCP sink on \(address)")
        guard await server.waitForOutput(containing: "listening", timeout: .seconds(10)) else {
            throw LabError.unexpectedOutput(command: "TCP sink", output: server.result.description)
        }
        let client = try await run(
            in: sender,
            [LabEnvironment.python, "-u", "-c", LabScripts.tcpSource, address, "\(port)", "\(byteCount)", "\(seed)"],
            timeout: timeout)
        guard await server.waitForExit(timeout: .seconds(10)) != nil else {
            throw LabError.timedOut("TCP sink did not finish: \(server.result)")
        }
        func parse(_ text: String, _ what: String) throws -> (Int, String) {
            let fields = text.trimmed.split(separator: "\n").last?.split(separator: " ") ?? []
            guard fields.count == 2, let count = Int(fields[0]) else {
                throw LabError.unexpectedOutput(command: what, output: text)
            }
            return (count, String(fields[1]))
        }
        let sent = try parse(client.standardOutput, "TCP source")
        let received = try parse(server.standardOutput, "TCP sink")
        return TCPTransferResult(
            sentBytes: sent.0, sentSHA256: sent.1, receivedBytes: received.0, receivedSHA256: received.1)
    }
}

/// What each end of ``NetnsLab/transferTCP(from:to:address:port:byteCount:seed:timeout:)`` counted.
public struct TCPTransferResult: Sendable {
    public let sentBytes: Int
    public let sentSHA256: String
    public let receivedBytes: Int
    public let receivedSHA256: String
}

extension String {
    /// Without leading and trailing white space and newlines.
    public var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
