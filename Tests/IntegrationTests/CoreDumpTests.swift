import Foundation
import MeshgateTestSupport
import Testing

/// The private keys must never reach a core dump (issue 8, item 8: the key appeared three times in one):
/// meshgate-wg and meshgated set their core size limit to zero, soft and hard, before any key is in
/// memory, whatever limit they were started with.
@Suite("No core dumps from the key holders", .tags(.privileged), .requiresLab("wireguard-go"))
struct CoreDumpTests {
    /// The soft and hard "Max core file size" of a process, from /proc/PID/limits.
    static func coreLimits(pid: Int32) throws -> [String] {
        let text = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
        return line.dropFirst("Max core file size".count).split(separator: " ").prefix(2).map(String.init)
    }

    @Test("meshgate-wg started with an unlimited core size runs with none")
    func meshgateWG() async throws {
        try await NetnsLab.withLab { lab in
            let name = lab.reserveInterfaceName(on: lab.a)
            try await lab.run(
                in: lab.a, ["sh", "-c", "ulimit -c unlimited && exec \(lab.meshgateBinary) \(name)"],
                environment: ["LOG_LEVEL": "silent"])
            let daemons = ProcessTable.processes(commandLineContaining: name)
            #expect(daemons.count == 1, "\(daemons)")
            for daemon in daemons {
                #expect(try Self.coreLimits(pid: daemon.pid) == ["0", "0"])
                kill(daemon.pid, SIGTERM)
            }
            let deadline = ContinuousClock.now + NetnsLab.stopGrace
            while ContinuousClock.now < deadline, daemons.contains(where: { ProcessTable.isAlive($0.pid) }) {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}
