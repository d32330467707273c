import Foundation
import Logging
import MeshgateDaemon
import Testing

/// The `ha.on_role_change` runner, with real processes: arguments and environment, the timeout, failures,
/// and that the caller (the control loop) never waits.
@Suite("ha.on_role_change runner")
struct RoleChangeHookTests {
    let change = RoleChangeHook.Change(
        role: "primary", group: "nyc1", node: "gw-nyc1-a", term: 7, primary: "gw-nyc1-a", reason: "test")

    /// A scratch directory with an executable script made of `body`.
    func script(_ body: String) throws -> (directory: URL, path: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mgt-hook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("hook").path
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return (directory, path)
    }

    func hook(reports: ReportBox) -> RoleChangeHook {
        RoleChangeHook(logger: Logger(label: "test")) { _, outcome in reports.append(outcome.label) }
    }

    @Test("the command gets its arguments, then the role and group, and MESHGATE_* variables; no notify socket")
    func argumentsAndEnvironment() throws {
        let (directory, path) = try script(
            """
            out="$(dirname "$0")/out"
            printf '%s\\n' "$@" > "$out.tmp"
            echo "env $MESHGATE_ROLE $MESHGATE_GROUP $MESHGATE_NODE $MESHGATE_TERM $MESHGATE_PRIMARY" >> "$out.tmp"
            echo "notify=${NOTIFY_SOCKET:-none}" >> "$out.tmp"
            echo "fds=$(ls /proc/self/fd | wc -l)" >> "$out.tmp"
            mv "$out.tmp" "$out"
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        setenv("NOTIFY_SOCKET", "/nonexistent", 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let reports = ReportBox()
        let runner = hook(reports: reports)
        runner.roleChanged(command: [path, "--vip", "10.0.0.5 x"], timeout: .seconds(5), change: change)
        #expect(runner.waitUntilIdle(limit: .seconds(10)))
        let out = try String(contentsOfFile: directory.appendingPathComponent("out").path, encoding: .utf8)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(4)) == ["--vip", "10.0.0.5 x", "primary", "nyc1"])
        #expect(lines.contains("env primary nyc1 gw-nyc1-a 7 gw-nyc1-a"))
        #expect(lines.contains("notify=none"))
        // 0, 1, 2, and the descriptor `ls` opens for /proc/self/fd: nothing of ours leaked.
        #expect(lines.contains("fds=4"), "\(lines)")
        #expect(runner.outcomes == [.ok])
        #expect(reports.values == ["ok"])
    }

    @Test("a command past its timeout is killed (with its children) and counted as timed_out")
    func timeout() throws {
        let (directory, path) = try script("sleep 30 & wait")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reports = ReportBox()
        let runner = hook(reports: reports)
        let started = ContinuousClock.now
        runner.roleChanged(command: [path], timeout: .milliseconds(300), change: change)
        let returned = ContinuousClock.now - started
        #expect(returned < .milliseconds(100), "the loop must not wait for the hook (\(returned))")
        #expect(runner.waitUntilIdle(limit: .seconds(5)))
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(runner.outcomes == [.timedOut])
        #expect(reports.values == ["timed_out"])
    }

    @Test("a non-zero exit and a missing program are failures, logged and counted")
    func failures() throws {
        let (directory, path) = try script("exit 3")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reports = ReportBox()
        let runner = hook(reports: reports)
        runner.roleChanged(command: [path], timeout: .seconds(5), change: change)
        #expect(runner.waitUntilIdle(limit: .seconds(5)))
        runner.roleChanged(
            command: [directory.appendingPathComponent("missing").path], timeout: .seconds(5), change: change)
        #expect(runner.waitUntilIdle(limit: .seconds(5)))
        #expect(runner.outcomes.count == 2)
        #expect(runner.outcomes.first == .failed("exit status 3"))
        #expect(reports.values == ["failed", "spawn_failed"])
    }

    @Test("changes arriving during a run collapse into the latest one")
    func latestWins() throws {
        let (directory, path) = try script("echo \"$1\" >> \"$(dirname \"$0\")/roles\"; sleep 0.3")
        defer { try? FileManager.default.removeItem(at: directory) }
        let runner = hook(reports: ReportBox())
        var next = change
        runner.roleChanged(command: [path], timeout: .seconds(5), change: next)
        usleep(100_000)  // the first run is going
        for role in ["standby", "primary", "standby"] {
            next.role = role
            runner.roleChanged(command: [path], timeout: .seconds(5), change: next)
        }
        #expect(runner.waitUntilIdle(limit: .seconds(5)))
        let roles = try String(contentsOfFile: directory.appendingPathComponent("roles").path, encoding: .utf8)
        #expect(roles == "primary\nstandby\n")
    }
}

/// Outcomes reported from the hook's thread.
final class ReportBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ value: String) { lock.withLock { list.append(value) } }
    var values: [String] { lock.withLock { list } }
}
