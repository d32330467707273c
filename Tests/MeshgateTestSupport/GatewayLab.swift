// The two-region meshgated lab of scripts/gateway-lab.sh, driven from Swift tests.
//
//   region nyc1: gw-nyc1-a (priority 200), gw-nyc1-b (100), host-nyc1 10.10.10.100, VIP 10.10.10.1
//   region fsn1: gw-fsn1-a (priority 200), gw-fsn1-b (100), host-fsn1 10.20.10.100, VIP 10.20.10.1
//   every gateway: `wan` on 198.51.100.0/24 (the "internet" bridge), `lan` on its region's LAN bridge
//
// The script builds and tears down the lab (namespaces PREFIX-*, state in /run/PREFIX/gw-NAME/); this
// class runs it, asks the daemons through the `meshgate` CLI, reads the kernel with `ip -j` and `nft`,
// measures LAN-to-LAN outages with `ping -D`, and proves at teardown that nothing was left behind.

import Foundation
import Glibc
import Synchronization

/// One of the lab's four gateways.
public enum LabGateway: String, CaseIterable, Sendable, CustomStringConvertible {
    case nyc1a = "nyc1-a"
    case nyc1b = "nyc1-b"
    case fsn1a = "fsn1-a"
    case fsn1b = "fsn1-b"

    /// The node name in the mesh (`gw-nyc1-a`).
    public var name: String { "gw-\(rawValue)" }
    public var description: String { name }

    public var region: LabRegion { rawValue.hasPrefix("nyc1") ? .nyc1 : .fsn1 }

    /// The other member of its HA pair.
    public var partner: LabGateway {
        switch self {
        case .nyc1a: .nyc1b
        case .nyc1b: .nyc1a
        case .fsn1a: .fsn1b
        case .fsn1b: .fsn1a
        }
    }

    public var overlayAddress: String {
        switch self {
        case .nyc1a: "100.64.0.1"
        case .nyc1b: "100.64.0.2"
        case .fsn1a: "100.64.0.3"
        case .fsn1b: "100.64.0.4"
        }
    }

    public var wanAddress: String {
        switch self {
        case .nyc1a: "198.51.100.11"
        case .nyc1b: "198.51.100.12"
        case .fsn1a: "198.51.100.21"
        case .fsn1b: "198.51.100.22"
        }
    }

    /// The gateway named `name` (`gw-nyc1-a` or `nyc1-a`).
    public init?(name: String) {
        let short = name.hasPrefix("gw-") ? String(name.dropFirst(3)) : name
        self.init(rawValue: short)
    }
}

/// One of the lab's two regions: an HA group, its LAN and a host on it.
public enum LabRegion: String, CaseIterable, Sendable, CustomStringConvertible {
    case nyc1
    case fsn1

    public var description: String { rawValue }
    /// The HA group's name.
    public var group: String { rawValue }
    public var members: [LabGateway] { self == .nyc1 ? [.nyc1a, .nyc1b] : [.fsn1a, .fsn1b] }
    public var other: LabRegion { self == .nyc1 ? .fsn1 : .nyc1 }
    /// The LAN subnet the region's gateways advertise.
    public var subnet: String { self == .nyc1 ? "10.10.10.0/24" : "10.20.10.0/24" }
    /// The LAN virtual IP held by the group's primary.
    public var virtualIP: String { self == .nyc1 ? "10.10.10.1" : "10.20.10.1" }
    /// The LAN host's address.
    public var hostAddress: String { self == .nyc1 ? "10.10.10.100" : "10.20.10.100" }
    /// The `advertise:` line of the region's gateway configs: the subnet, probed end to end at the host.
    public var advertiseLine: String { "advertise: [\(advertiseEntry)]" }
    public var advertiseEntry: String { "{prefix: \(subnet), probe: \(hostAddress)}" }
}

/// Failures of the gateway lab itself (not of the behaviour under test).
public enum GatewayLabError: Error, CustomStringConvertible {
    case binaryMissing(name: String, path: String, variable: String)
    case notSettled(String)
    case unexpectedOutput(command: String, output: String)

    public var description: String {
        switch self {
        case .binaryMissing(let name, let path, let variable):
            "\(name) not found at \(path). Build it first with "
                + "`flock /tmp/meshgate-swift.lock swift build --product \(name)` in the package root (one "
                + "--product per invocation: `swift build --product meshgated --product meshgate` builds only the "
                + "last one), or point \(variable) at a built binary (the tests never build it themselves)."
        case .notSettled(let detail): "the gateway lab did not settle: \(detail)"
        case .unexpectedOutput(let command, let output): "unexpected output from `\(command)`: \(output)"
        }
    }
}

// MARK: - What the daemons report (the `--json` output of the `meshgate` CLI)

/// `meshgate status --json`.
public struct GatewayStatus: Decodable, Sendable {
    public struct Group: Decodable, Sendable {
        public let group: String
        public let role: String
        public let primary: String?
        public let term: UInt64
        public let lanHealthy: Bool
        public let virtualIP: String?
        public let members: [String]
    }
    public let node: String
    public let overlayInterface: String
    public let overlayAddress: String
    public let mtu: Int
    public let publicKey: String
    public let advertised: [String]
    public let forwarding: [String: Bool]
    public let mssClamp: Bool
    public let groups: [Group]
    public let routesInstalled: Int
    public let policy: String?
    public let policyDigest: String?
    public let health: String?
    public let problems: [Problem]?

    /// One entry of the health verdict.
    public struct Problem: Decodable, Sendable, CustomStringConvertible {
        public let kind: String
        public let subject: String
        public let severity: String
        public let message: String
        public let hint: String
        public let since: String
        public var description: String { "\(severity) \(kind) \(subject): \(message)" }
    }

    /// The problems of `kind` (about `subject`, when given).
    public func problems(_ kind: String, subject: String? = nil) -> [Problem] {
        (problems ?? []).filter { $0.kind == kind && (subject == nil || $0.subject == subject) }
    }

    /// This gateway's HA group (the lab puts every gateway in one).
    public var group: Group? { groups.first }
    public var isPrimary: Bool { group?.role == "primary" }
}

/// One entry of `meshgate routes --json`.
public struct MeshRoute: Decodable, Sendable {
    public let subnet: String
    public let via: String?
    public let group: String?
    public let advertisers: [String]
    public let installed: Bool
    public let local: Bool
}

/// `meshgate drill failover --json`.
public struct DrillFigures: Decodable, Sendable, CustomStringConvertible {
    public let kind: String
    public let group: String?
    public let fromPrimary: String?
    public let toPrimary: String?
    public let convergenceMilliseconds: Double?
    public let probesSent: Int
    public let probesLost: Int
    public let longestGapMilliseconds: Double
    public let restored: Bool
    public let notes: [String]
    public let passed: Bool?
    public let verdict: String?
    public let peer: String?
    public let via: String?
    public let relayedRTTMilliseconds: Double?

    public var description: String {
        String(
            format: "%@ → %@, convergence %.1f ms, probes lost %d of %d, longest probe gap %.1f ms, restored %@",
            fromPrimary ?? "?", toPrimary ?? "?", convergenceMilliseconds ?? -1, probesLost, probesSent,
            longestGapMilliseconds, restored ? "yes" : "no")
    }
}

private struct ControlReply: Decodable {
    let ok: Bool
    let error: String?
    let status: GatewayStatus?
    let routes: [MeshRoute]?
    let drill: DrillFigures?
}

/// One route of `ip -j route`.
public struct KernelRoute: Decodable, Sendable, Hashable, CustomStringConvertible {
    public let dst: String
    public let dev: String?
    public let gateway: String?
    public let `protocol`: String?

    /// True for routes tagged with meshgate's route protocol (88, named `meshgate` in rt_protos.d).
    public var isMeshgate: Bool { self.protocol == "88" || self.protocol == "meshgate" }

    public var description: String {
        "\(dst)\(gateway.map { " via \($0)" } ?? "")\(dev.map { " dev \($0)" } ?? "") proto \(self.protocol ?? "?")"
    }
}

private struct AddressInfo: Decodable {
    struct Entry: Decodable {
        let family: String
        let local: String
        let prefixlen: Int
    }
    let ifname: String
    let addr_info: [Entry]
}

// MARK: - The lab

/// A running two-region lab. Create it with ``make()``; whoever does must call ``shutdown()``.
public final class GatewayLab: Sendable {
    /// Namespace prefix, `mgt-gw` and four hex digits (10 characters: overlay interface names stay short).
    public let prefix: String
    public let meshgated: String
    public let meshgate: String
    /// Where the script keeps configs, logs, pid files and control sockets.
    public let runDirectory: String
    /// Scratch files of the tests (bad configs, captures); removed at teardown.
    public let scratchDirectory: String
    public let script: String

    /// Helper processes (ping, tshark, TCP sinks) started in the lab, stopped at teardown.
    private let helpers = Mutex<[ChildProcess]>([])
    private let isShutDown = Mutex(false)

    private init(prefix: String, meshgated: String, meshgate: String) {
        self.prefix = prefix
        self.meshgated = meshgated
        self.meshgate = meshgate
        self.runDirectory = "/run/\(prefix)"
        self.scratchDirectory = "/tmp/\(prefix)-tests"
        self.script = "\(LabEnvironment.packageRoot)/scripts/gateway-lab.sh"
    }

    deinit {
        if !isShutDown.withLock({ $0 }) {
            for helper in helpers.withLock({ $0 }) { helper.sendToGroup(signal: SIGKILL) }
            Command.runBlocking([script, "down", prefix], timeout: .seconds(30))
            try? FileManager.default.removeItem(atPath: scratchDirectory)
        }
    }

    /// The daemon and CLI under test: `$MESHGATED` / `$MESHGATE`, or the debug builds. Throws with build
    /// instructions when one is missing.
    public static func binaries() throws -> (meshgated: String, meshgate: String) {
        let environment = ProcessInfo.processInfo.environment
        func find(_ name: String, _ variable: String) throws -> String {
            let path =
                environment[variable].flatMap { $0.isEmpty ? nil : $0 }
                ?? "\(LabEnvironment.packageRoot)/.build/debug/\(name)"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw GatewayLabError.binaryMissing(name: name, path: path, variable: variable)
            }
            return path
        }
        return (try find("meshgated", "MESHGATED"), try find("meshgate", "MESHGATE"))
    }

    /// Runs `body` while no other netns lab of this test process runs (failover timing on two shared
    /// cores means nothing while another lab pushes traffic).
    public static func withExclusiveMachine<T>(_ body: () async throws -> T) async throws -> T {
        let taken = await LabSlots.shared.acquire(weight: .max)
        do {
            let value = try await body()
            await LabSlots.shared.release(taken)
            return value
        } catch {
            await LabSlots.shared.release(taken)
            throw error
        }
    }

    /// Builds the lab with a fresh prefix and waits until it has settled.
    public static func make() async throws -> GatewayLab {
        let binaries = try binaries()
        var prefix = ""
        repeat {
            prefix = "mgt-gw" + String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        } while FileManager.default.fileExists(atPath: "/run/\(prefix)")
            || FileManager.default.fileExists(atPath: "/run/netns/\(prefix)-inet")
            || ((try? FileManager.default.contentsOfDirectory(atPath: NetnsLab.socketDirectory)) ?? []).contains {
                $0.hasPrefix("mg\(prefix.suffix(3))")
            }
        await sweepStaleLabs()
        let lab = GatewayLab(prefix: prefix, meshgated: binaries.meshgated, meshgate: binaries.meshgate)
        do {
            try FileManager.default.createDirectory(atPath: lab.scratchDirectory, withIntermediateDirectories: true)
            try "\(getpid())\n".write(toFile: "\(lab.scratchDirectory)/owner", atomically: true, encoding: .utf8)
            try await lab.lab("up", timeout: .seconds(60))
            try await lab.waitSettled(timeout: .seconds(20))
        } catch {
            _ = await lab.shutdown()
            throw error
        }
        return lab
    }

    /// Removes the labs of test processes that died before tearing theirs down (their scratch directory
    /// names the owner's pid).
    private static func sweepStaleLabs() async {
        let script = "\(LabEnvironment.packageRoot)/scripts/gateway-lab.sh"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        where entry.hasPrefix("mgt-gw") && entry.hasSuffix("-tests") {
            guard let text = try? String(contentsOfFile: "/tmp/\(entry)/owner", encoding: .utf8),
                let owner = Int32(text.trimmed), owner != getpid(), !ProcessTable.isAlive(owner)
            else { continue }
            _ = try? await Command.run([script, "down", String(entry.dropLast("-tests".count))], check: false)
            try? FileManager.default.removeItem(atPath: "/tmp/\(entry)")
        }
    }

    /// Removes the lab and returns what was left behind (empty when all is clean).
    public func shutdown() async -> [String] {
        let wasShutDown = isShutDown.withLock { state in
            defer { state = true }
            return state
        }
        if wasShutDown { return [] }
        var problems: [String] = []
        for helper in helpers.withLock({ $0 }) where helper.isRunning {
            helper.sendToGroup(signal: SIGKILL)
            await helper.waitForExit(timeout: .seconds(5))
        }
        if let result = try? await Command.run([script, "down", prefix], timeout: .seconds(60), check: false),
            !result.succeeded
        {
            problems.append("`gateway-lab.sh down` failed: \(result)")
        }
        if let list = try? await Command.run(["ip", "netns", "list"], check: false) {
            let left = list.standardOutput.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
                .filter { $0.hasPrefix(prefix + "-") }
            if !left.isEmpty { problems.append("namespaces left behind: \(left.joined(separator: ", "))") }
        }
        // A daemon may still be finishing its clean stop; give it a moment before calling it leaked.
        let deadline = ContinuousClock.now + .seconds(5)
        var daemons = ProcessTable.processes(commandLineContaining: runDirectory + "/")
        while !daemons.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            daemons = ProcessTable.processes(commandLineContaining: runDirectory + "/")
        }
        for entry in daemons {
            problems.append("\(entry) still running after teardown; killed")
            Glibc.kill(entry.pid, SIGKILL)
        }
        for gateway in LabGateway.allCases {
            let socket = "\(NetnsLab.socketDirectory)/\(interfaceName(gateway)).sock"
            if FileManager.default.fileExists(atPath: socket) {
                problems.append("UAPI socket \(socket) left behind; removed")
                unlink(socket)
            }
        }
        if FileManager.default.fileExists(atPath: runDirectory) {
            problems.append("\(runDirectory) left behind; removed")
            try? FileManager.default.removeItem(atPath: runDirectory)
        }
        try? FileManager.default.removeItem(atPath: scratchDirectory)
        return problems
    }

    // MARK: - Names

    public func namespace(_ gateway: LabGateway) -> String { "\(prefix)-gw-\(gateway.rawValue)" }
    public func hostNamespace(_ region: LabRegion) -> String { "\(prefix)-host-\(region.rawValue)" }

    /// The overlay interface of `gateway`, named like the script names it.
    public func interfaceName(_ gateway: LabGateway) -> String {
        String(("mg" + prefix.suffix(3) + gateway.rawValue.replacingOccurrences(of: "-", with: "")).prefix(15))
    }

    public func directory(_ gateway: LabGateway) -> String { "\(runDirectory)/gw-\(gateway.rawValue)" }
    public func controlSocket(_ gateway: LabGateway) -> String { "\(directory(gateway))/control.sock" }
    public func configFile(_ gateway: LabGateway) -> String { "\(directory(gateway))/config.yaml" }
    public func logFile(_ gateway: LabGateway) -> String { "\(directory(gateway))/log" }

    /// The last `lines` lines of `gateway`'s daemon log, for failure messages.
    public func logTail(_ gateway: LabGateway, lines: Int = 30) -> String {
        ((try? String(contentsOfFile: logFile(gateway), encoding: .utf8)) ?? "").suffixLines(lines)
    }

    // MARK: - Running things

    /// Runs `scripts/gateway-lab.sh COMMAND PREFIX ARGUMENTS...` with this lab's meshgated.
    @discardableResult
    public func lab(_ command: String, _ arguments: String..., timeout: Duration = .seconds(30)) async throws
        -> CommandResult
    {
        try await Command.run(
            [script, command, prefix] + arguments, environment: ["MESHGATED": meshgated], timeout: timeout)
    }

    /// Runs `arguments` in namespace `namespace`.
    @discardableResult
    public func run(
        in namespace: String, _ arguments: [String], input: String? = nil, timeout: Duration = .seconds(30),
        check: Bool = true
    ) async throws -> CommandResult {
        try await Command.run(
            ["ip", "netns", "exec", namespace] + arguments, input: input, timeout: timeout, check: check)
    }

    /// Starts `arguments` in `namespace` in the background; killed at teardown if still running.
    public func startHelper(in namespace: String, _ arguments: [String]) throws -> ChildProcess {
        let process = try Command.start(
            ["ip", "netns", "exec", namespace] + arguments, outputDirectory: scratchDirectory)
        helpers.withLock { $0.append(process) }
        return process
    }

    public func start(_ gateway: LabGateway) async throws { try await lab("start-gw", gateway.rawValue) }
    /// SIGKILL: the daemon leaves its routes, addresses and nftables table in the kernel.
    public func kill(_ gateway: LabGateway) async throws { try await lab("kill-gw", gateway.rawValue) }
    /// SIGTERM, then waits until the daemon has exited.
    public func stop(_ gateway: LabGateway) async throws { try await lab("stop-gw", gateway.rawValue) }
    public func cutLink(_ gateway: LabGateway, _ link: String) async throws {
        try await lab("cut-link", gateway.rawValue, link)
    }
    public func restoreLink(_ gateway: LabGateway, _ link: String) async throws {
        try await lab("restore-link", gateway.rawValue, link)
    }
    /// Drops all traffic between the wan addresses of `a` and `b` (rules in `a`'s namespace).
    public func partition(_ a: LabGateway, _ b: LabGateway) async throws {
        try await lab("partition", a.rawValue, b.rawValue)
    }
    /// Drops `percent`% of the packets between the wan addresses of `a` and `b`, each way (rules in `a`'s
    /// namespace, removed by ``heal()``).
    public func loss(_ a: LabGateway, _ b: LabGateway, percent: Int) async throws {
        try await lab("loss", a.rawValue, b.rawValue, "\(percent)")
    }
    public func heal() async throws { try await lab("heal") }

    /// True when `gateway`'s daemon runs (its pid file names a live process).
    public func isRunning(_ gateway: LabGateway) -> Bool {
        guard let text = try? String(contentsOfFile: "\(directory(gateway))/pid", encoding: .utf8),
            let pid = Int32(text.trimmed)
        else { return false }
        return ProcessTable.isAlive(pid)
    }

    // MARK: - Asking the daemons

    private func control(_ gateway: LabGateway, _ arguments: [String]) async throws -> ControlReply {
        let result = try await Command.run(
            [meshgate] + arguments + ["--json", "--socket", controlSocket(gateway)], timeout: .seconds(20),
            check: false)
        guard let reply = try? JSONDecoder().decode(ControlReply.self, from: Data(result.standardOutput.utf8)) else {
            throw CommandError.failed(result)
        }
        return reply
    }

    public func status(_ gateway: LabGateway) async throws -> GatewayStatus {
        let reply = try await control(gateway, ["status"])
        guard let status = reply.status else {
            throw GatewayLabError.unexpectedOutput(command: "meshgate status", output: reply.error ?? "no status")
        }
        return status
    }

    public func routes(_ gateway: LabGateway) async throws -> [MeshRoute] {
        let reply = try await control(gateway, ["routes"])
        guard let routes = reply.routes else {
            throw GatewayLabError.unexpectedOutput(command: "meshgate routes", output: reply.error ?? "no routes")
        }
        return routes
    }

    /// `meshgate drill failover --group GROUP --json` on `gateway`; the figures, and the error when it failed.
    public func drillFailover(on gateway: LabGateway, group: String) async throws -> (DrillFigures?, error: String?) {
        let reply = try await control(gateway, ["drill", "failover", "--group", group])
        return (reply.drill, reply.ok ? nil : reply.error ?? "failed")
    }

    /// `meshgate drill relay --peer PEER --seconds S --json` on `gateway`.
    public func drillRelay(on gateway: LabGateway, peer: LabGateway, seconds: Int) async throws -> (
        DrillFigures?, error: String?
    ) {
        let reply = try await control(gateway, ["drill", "relay", "--peer", peer.name, "--seconds", "\(seconds)"])
        return (reply.drill, reply.ok ? nil : reply.error ?? "failed")
    }

    // MARK: - Reading the kernel

    /// `ip -j route` in `gateway`'s namespace (main table; `family` `-4` or `-6`).
    public func kernelRoutes(_ gateway: LabGateway, family: String = "-4") async throws -> [KernelRoute] {
        let arguments = ["ip", "-j", family, "route", "show"]
        let output = try await run(in: namespace(gateway), arguments).standardOutput
        if output.trimmed.isEmpty { return [] }
        do {
            return try JSONDecoder().decode([KernelRoute].self, from: Data(output.utf8))
        } catch {
            throw GatewayLabError.unexpectedOutput(command: arguments.joined(separator: " "), output: output)
        }
    }

    /// The routes of meshgate's protocol (88) in `gateway`'s namespace. Filtered here rather than with
    /// `ip route show proto 88`, which leaves the protocol out of what it prints.
    public func meshgateRoutes(_ gateway: LabGateway, family: String = "-4") async throws -> [KernelRoute] {
        try await kernelRoutes(gateway, family: family).filter(\.isMeshgate)
    }

    /// The IPv4 addresses on `interface` in namespace `namespace`, as `address/length`.
    public func addresses(in namespace: String, interface: String) async throws -> [String] {
        let output = try await run(in: namespace, ["ip", "-j", "-4", "addr", "show", "dev", interface]).standardOutput
        let info = try JSONDecoder().decode([AddressInfo].self, from: Data(output.utf8))
        return info.flatMap(\.addr_info).map { "\($0.local)/\($0.prefixlen)" }
    }

    /// The members of `region`'s group that hold its virtual IP on their `lan` (by `ip -j addr`).
    public func virtualIPHolders(_ region: LabRegion) async throws -> [LabGateway] {
        var holders: [LabGateway] = []
        for member in region.members
        where try await addresses(in: namespace(member), interface: "lan").contains("\(region.virtualIP)/24") {
            holders.append(member)
        }
        return holders
    }

    /// `nft list tables` in `gateway`'s namespace, one table per line (`table inet meshgate`).
    public func nftablesTables(_ gateway: LabGateway) async throws -> [String] {
        try await run(in: namespace(gateway), ["nft", "list", "tables"]).standardOutput.split(separator: "\n")
            .map { String($0).trimmed }
    }

    /// True when `interface` exists in `gateway`'s namespace.
    public func linkExists(_ gateway: LabGateway, _ interface: String) async throws -> Bool {
        try await run(in: namespace(gateway), ["ip", "link", "show", interface], check: false).succeeded
    }

    // MARK: - Settling

    /// A consistent picture of the lab: each group's primary as every gateway sees it.
    public struct Snapshot: Sendable, CustomStringConvertible {
        /// Per gateway: its status (nil if it did not answer).
        public var statuses: [LabGateway: GatewayStatus] = [:]
        /// Per gateway: its routes (nil if it did not answer).
        public var routes: [LabGateway: [MeshRoute]] = [:]
        public var virtualIPHolders: [LabRegion: [LabGateway]] = [:]
        public var problems: [String] = []

        /// What `gateway` believes is the primary of `region`'s group: its election for its own group, the
        /// next hop of the group's subnet for the other one.
        public func primary(of region: LabRegion, seenBy gateway: LabGateway) -> String? {
            if gateway.region == region { return statuses[gateway]?.group?.primary }
            return routes[gateway]?.first { $0.subnet == region.subnet }?.via
        }

        public var description: String {
            var lines: [String] = []
            for gateway in LabGateway.allCases {
                let status = statuses[gateway]
                let role = status?.group.map { "\($0.role) (primary \($0.primary ?? "none"), term \($0.term))" }
                let remote = gateway.region.other
                lines.append(
                    "\(gateway): \(role ?? "no answer"); \(remote.subnet) via "
                        + "\(primary(of: remote, seenBy: gateway) ?? "none")")
            }
            for region in LabRegion.allCases {
                lines.append("VIP \(region.virtualIP) held by \(virtualIPHolders[region]?.map(\.name) ?? [])")
            }
            return (lines + problems).joined(separator: "\n")
        }
    }

    /// Reads every gateway's status and routes and the VIP holders.
    public func snapshot() async -> Snapshot {
        var snapshot = Snapshot()
        await withTaskGroup(of: (LabGateway, GatewayStatus?, [MeshRoute]?, String?).self) { group in
            for gateway in LabGateway.allCases {
                group.addTask {
                    do {
                        async let status = self.status(gateway)
                        async let routes = self.routes(gateway)
                        return (gateway, try await status, try await routes, nil)
                    } catch {
                        return (gateway, nil, nil, "\(gateway) did not answer: \(error)")
                    }
                }
            }
            for await (gateway, status, routes, problem) in group {
                snapshot.statuses[gateway] = status
                snapshot.routes[gateway] = routes
                if let problem { snapshot.problems.append(problem) }
            }
        }
        for region in LabRegion.allCases {
            do {
                snapshot.virtualIPHolders[region] = try await virtualIPHolders(region)
            } catch {
                snapshot.problems.append("cannot read the VIP holders of \(region): \(error)")
            }
        }
        return snapshot
    }

    /// Why `snapshot` is not a settled lab (nil when it is): every gateway answers; per group, every gateway
    /// names the same primary, that member alone claims the role and alone holds the VIP; every gateway has
    /// the other region's subnet installed.
    public func unsettledReason(_ snapshot: Snapshot) -> String? {
        if !snapshot.problems.isEmpty { return snapshot.problems.joined(separator: "; ") }
        for region in LabRegion.allCases {
            let views = LabGateway.allCases.map { snapshot.primary(of: region, seenBy: $0) }
            guard let primary = views[0], views.allSatisfy({ $0 == primary }) else {
                return "gateways disagree on the primary of \(region): \(views.map { $0 ?? "none" })"
            }
            let claimants = region.members.filter { snapshot.statuses[$0]?.isPrimary == true }
            guard claimants.map(\.name) == [primary] else {
                return "\(region) members claiming primary: \(claimants.map(\.name)), agreed primary \(primary)"
            }
            guard snapshot.virtualIPHolders[region]?.map(\.name) == [primary] else {
                return "VIP of \(region) held by \(snapshot.virtualIPHolders[region]?.map(\.name) ?? [])"
            }
        }
        for gateway in LabGateway.allCases {
            let remote = gateway.region.other.subnet
            guard snapshot.routes[gateway]?.contains(where: { $0.subnet == remote && $0.installed }) == true else {
                return "\(gateway) has not installed \(remote)"
            }
        }
        return nil
    }

    /// Waits until the lab is settled (see ``unsettledReason(_:)``) and LAN hosts reach each other both
    /// ways; returns each region's primary.
    @discardableResult
    public func waitSettled(timeout: Duration = .seconds(15)) async throws -> [LabRegion: LabGateway] {
        let deadline = ContinuousClock.now + timeout
        var last = "never checked"
        while ContinuousClock.now < deadline {
            let snapshot = await snapshot()
            if let reason = unsettledReason(snapshot) {
                last = "\(reason)\n\(snapshot)"
            } else {
                let forward = try await run(
                    in: hostNamespace(.fsn1), ["ping", "-n", "-c", "1", "-W", "1", LabRegion.nyc1.hostAddress],
                    check: false)
                let backward = try await run(
                    in: hostNamespace(.nyc1), ["ping", "-n", "-c", "1", "-W", "1", LabRegion.fsn1.hostAddress],
                    check: false)
                if forward.succeeded && backward.succeeded {
                    var primaries: [LabRegion: LabGateway] = [:]
                    for region in LabRegion.allCases {
                        primaries[region] = snapshot.primary(of: region, seenBy: region.members[0])
                            .flatMap(LabGateway.init(name:))
                    }
                    return primaries
                }
                last =
                    "LAN hosts do not reach each other (fsn1 → nyc1 \(forward.succeeded), nyc1 → fsn1 "
                    + "\(backward.succeeded))\n\(snapshot)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw GatewayLabError.notSettled("after \(timeout): \(last)")
    }

    /// Undoes every fault a test may have left (partitions, links down, stopped daemons), then waits until
    /// the lab has settled; returns each region's primary.
    @discardableResult
    public func restoreBaseline(timeout: Duration = .seconds(15)) async throws -> [LabRegion: LabGateway] {
        try await heal()
        for gateway in LabGateway.allCases {
            try await restoreLink(gateway, "wan")
            try await restoreLink(gateway, "lan")
            try await start(gateway)
        }
        return try await waitSettled(timeout: timeout)
    }

    // MARK: - Outages

    /// Pings `to`'s LAN host from `from`'s every 10 ms (`ping -D`) around `fault`, and measures the longest
    /// gap between replies, counting the end of the run as a reply so that traffic that never came back
    /// shows as an outage as long as `window`.
    public func measureOutage(
        from: LabRegion = .fsn1, to: LabRegion = .nyc1, window: Duration = .milliseconds(2500),
        _ fault: () async throws -> Void
    ) async throws -> OutageMeasurement {
        let ping = try startHelper(
            in: hostNamespace(from), ["ping", "-D", "-n", "-i", "0.01", to.hostAddress])
        defer { ping.sendToGroup(signal: SIGKILL) }
        // Traffic must flow before the fault, or the measurement means nothing.
        let flowing = ContinuousClock.now + .seconds(3)
        while OutageMeasurement.replyTimestamps(in: ping.standardOutput).count < 20 {
            guard ContinuousClock.now < flowing, ping.isRunning else {
                throw GatewayLabError.notSettled("no ping replies before the fault: \(ping.result)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        let faultAt = Date().timeIntervalSince1970
        try await fault()
        let faultDone = Date().timeIntervalSince1970
        try await Task.sleep(for: window)
        let end = Date().timeIntervalSince1970
        ping.send(signal: SIGINT)
        await ping.waitForExit(timeout: .seconds(5))
        return OutageMeasurement(
            pingOutput: ping.standardOutput, faultAt: faultAt, faultDuration: faultDone - faultAt, end: end)
    }
}

/// The result of ``GatewayLab/measureOutage(from:to:window:_:)``.
public struct OutageMeasurement: Sendable, CustomStringConvertible {
    /// The longest gap between consecutive reply timestamps (the run's end counts as one), in ms.
    public let longestGapMilliseconds: Double
    /// When that gap began, relative to the fault (seconds; negative before it).
    public let gapStartAfterFault: Double
    /// True when the longest gap ran to the end of the run: traffic never came back.
    public let neverRecovered: Bool
    public let replies: Int
    /// How long injecting the fault took (a `stop-gw` waits for the daemon to exit), in seconds.
    public let faultDuration: Double

    init(pingOutput: String, faultAt: Double, faultDuration: Double, end: Double) {
        let stamps = OutageMeasurement.replyTimestamps(in: pingOutput) + [end]
        var longest = 0.0
        var start = stamps[0]
        var index = 0
        for i in 1..<stamps.count where stamps[i] - stamps[i - 1] > longest {
            longest = stamps[i] - stamps[i - 1]
            start = stamps[i - 1]
            index = i
        }
        self.longestGapMilliseconds = longest * 1000
        self.gapStartAfterFault = start - faultAt
        self.neverRecovered = index == stamps.count - 1
        self.replies = stamps.count - 1
        self.faultDuration = faultDuration
    }

    /// The `[epoch seconds]` stamps of the reply lines of `ping -D` output.
    static func replyTimestamps(in output: String) -> [Double] {
        output.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasPrefix("["), line.contains(" bytes from "), let close = line.firstIndex(of: "]") else {
                return nil
            }
            return Double(line[line.index(after: line.startIndex)..<close])
        }
    }

    public var description: String {
        String(
            format: "longest gap %.0f ms%@, starting %+.3f s after the fault (%d replies)",
            longestGapMilliseconds, neverRecovered ? " (NEVER RECOVERED)" : "", gapStartAfterFault, replies)
    }
}
