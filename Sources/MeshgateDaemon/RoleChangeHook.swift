import CLinuxShims
import Foundation
import Glibc
import LinuxSystem
public import Logging

/// Runs `ha.on_role_change` when this member's role changes: the command is started without a shell, with
/// the new role and the group appended to its arguments and described in its environment, on a thread of
/// its own, so the control loop never waits for it.
///
/// Clouds do not move a LAN virtual IP on a gratuitous ARP (in most VPCs the fabric ignores it); the hook
/// is where an operator calls the provider's API instead (move a secondary private IP, or repoint a route
/// table at this instance).
///
/// Contract:
/// - One run at a time, in order of the changes. A change that arrives while a run is going replaces any
///   change still waiting: only the latest role matters to a provider API, and a flapping role must not
///   queue runs.
/// - A run is bounded: at its timeout the command's process group gets SIGTERM, and SIGKILL a second
///   later.
/// - Every run ends in one of ``Outcome``'s results, logged and passed to `report` (metrics, audit).
/// - The child gets standard input from /dev/null, standard output on our standard error (the audit stream
///   is standard output), no descriptor of ours beyond 0-2, default signal dispositions and an empty
///   signal mask, and none of systemd's notification variables.
public final class RoleChangeHook: @unchecked Sendable {
    /// One role change, as the hook's command sees it.
    public struct Change: Sendable, Hashable {
        public var role: String
        public var group: String
        public var node: String
        public var term: Int
        /// The primary after the change (this node when `role` is `primary`; may be empty).
        public var primary: String
        public var reason: String

        public init(role: String, group: String, node: String, term: Int, primary: String, reason: String) {
            self.role = role
            self.group = group
            self.node = node
            self.term = term
            self.primary = primary
            self.reason = reason
        }

        /// The variables added to the command's environment.
        var environment: [String: String] {
            [
                "MESHGATE_ROLE": role, "MESHGATE_GROUP": group, "MESHGATE_NODE": node, "MESHGATE_TERM": String(term),
                "MESHGATE_PRIMARY": primary, "MESHGATE_REASON": reason,
            ]
        }
    }

    /// How one run ended.
    public enum Outcome: Sendable, Hashable {
        case ok
        /// Exited with a non-zero status, or was killed by a signal it did not get from us.
        case failed(String)
        /// Still running at the timeout, and killed.
        case timedOut
        /// Could not be started (missing program, not executable).
        case spawnFailed(String)

        /// The `result` label of `meshgate_role_change_hook_runs_total`.
        public var label: String {
            switch self {
            case .ok: "ok"
            case .failed: "failed"
            case .timedOut: "timed_out"
            case .spawnFailed: "spawn_failed"
            }
        }
    }

    private struct Job {
        var command: [String]
        var timeout: Duration
        var change: Change
    }

    private let logger: Logger
    private let report: @Sendable (Change, Outcome) -> Void
    private let lock = PThreadMutex()
    // Guarded by `lock`.
    private var waiting: Job?
    private var running = false
    private var finished: [Outcome] = []

    /// - Parameter report: called on the hook's thread after every run.
    public init(logger: Logger, report: @escaping @Sendable (Change, Outcome) -> Void = { _, _ in }) {
        self.logger = logger
        self.report = report
    }

    /// Schedules `command` for `change` and returns at once.
    public func roleChanged(command: [String], timeout: Duration, change: Change) {
        guard !command.isEmpty else { return }
        let start: Bool = lock.withLock {
            if waiting != nil {
                logger.notice("ha.on_role_change: a newer role change (\(change.role)) replaces one not yet run")
            }
            waiting = Job(command: command, timeout: timeout, change: change)
            if running { return false }
            running = true
            return true
        }
        if start { Thread.detachNewThread { [self] in drain() } }
    }

    /// Waits (for tests and a clean stop) until no run is going or waiting, at most `limit`.
    @discardableResult
    public func waitUntilIdle(limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if lock.withLock({ !running && waiting == nil }) { return true }
            usleep(5000)
        }
        return false
    }

    /// The outcomes of the runs so far, oldest first (for tests).
    public var outcomes: [Outcome] { lock.withLock { finished } }

    private func drain() {
        while true {
            let next: Job? = lock.withLock {
                guard let job = waiting else {
                    running = false
                    return nil
                }
                waiting = nil
                return job
            }
            guard let job = next else { return }
            let started = ContinuousClock.now
            let outcome = Self.run(
                job.command + [job.change.role, job.change.group], timeout: job.timeout,
                environment: job.change.environment)
            let took = ContinuousClock.now - started
            switch outcome {
            case .ok:
                logger.notice("ha.on_role_change for \(job.change.role) in \(job.change.group): ok after \(took)")
            case .failed(let why):
                logger.error("ha.on_role_change for \(job.change.role) in \(job.change.group) failed: \(why)")
            case .timedOut:
                logger.error(
                    "ha.on_role_change for \(job.change.role) in \(job.change.group): killed at its timeout of \(job.timeout)"
                )
            case .spawnFailed(let why):
                logger.error("ha.on_role_change for \(job.change.role) in \(job.change.group) could not start: \(why)")
            }
            lock.withLock { finished.append(outcome) }
            report(job.change, outcome)
        }
    }

    /// Variables of ours the command must not inherit.
    static let withheldVariables: Set<String> = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
        "LISTEN_PID", "LISTEN_FDNAMES",
    ]

    /// Starts `argv` (no shell, no PATH search) and waits at most `timeout` for it.
    static func run(_ argv: [String], timeout: Duration, environment extra: [String: String]) -> Outcome {
        var environment = ProcessInfo.processInfo.environment.filter { !withheldVariables.contains($0.key) }
        for (key, value) in extra { environment[key] = value }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let args = argv.map { strdup($0) } + [nil]
        defer {
            for p in envp { free(p) }
            for p in args { free(p) }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        _ = CLinuxShims_spawn_close_from(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, args, envp)
        if spawned != 0 { return .spawnFailed("\(argv[0]): \(String(cString: strerror(spawned)))") }

        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return describe(status: status) }
            if done < 0 && errno != EINTR { return .failed("waitpid: \(String(cString: strerror(errno)))") }
            if ContinuousClock.now >= deadline { break }
            usleep(10_000)
        }
        // The whole process group: a hook's own children must not outlive it either.
        kill(-pid, SIGTERM)
        let grace = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < grace {
            if waitpid(pid, &status, WNOHANG) == pid {
                kill(-pid, SIGKILL)
                return .timedOut
            }
            usleep(10_000)
        }
        kill(-pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return .timedOut
    }

    private static func describe(status: Int32) -> Outcome {
        // WIFEXITED / WEXITSTATUS / WTERMSIG, spelt out (they are macros).
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            return code == 0 ? .ok : .failed("exit status \(code)")
        }
        return .failed("killed by signal \(signal)")
    }
}
