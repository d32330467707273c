// Running external programs (ip, wg, wireguard-go, ping, python3, meshgate-wg) from privileged
// integration tests.
//
// Output goes to files, never to pipes, and exits are collected with waitpid rather than by watching a
// descriptor: a daemon started by the command (wg-quick starts meshgate-wg in the background) keeps
// whatever it inherited open, and a pipe would then never reach end-of-file. (Foundation's `Process`
// detects termination through such an inherited socket, which is why it is not used here.)
// Waiting polls the exit status every few milliseconds, so no thread of the cooperative pool blocks.

import Foundation
import Synchronization

/// How a process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// `exit(code)`.
    case exited(Int32)
    /// Killed by this signal.
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}

/// A finished command: its arguments, how it ended and everything it wrote.
public struct CommandResult: Sendable, CustomStringConvertible {
    public let arguments: [String]
    public let status: ExitStatus
    public let standardOutput: String
    public let standardError: String

    /// True when the command exited with status 0.
    public var succeeded: Bool { status == .exited(0) }

    public var description: String {
        var text = "`\(arguments.joined(separator: " "))`: \(status)"
        if !standardOutput.isEmpty { text += "\n--- stdout ---\n\(standardOutput.suffixLines(40))" }
        if !standardError.isEmpty { text += "\n--- stderr ---\n\(standardError.suffixLines(40))" }
        return text
    }
}

/// Why ``Command`` could not give a successful result.
public enum CommandError: Error, CustomStringConvertible {
    /// The program is not in `PATH`.
    case programNotFound(String)
    /// `Process.run()` refused to start it.
    case launchFailed(arguments: [String], reason: String)
    /// The command ended with a non-zero status while success was required.
    case failed(CommandResult)
    /// The command ran past its time limit and was killed.
    case timedOut(CommandResult, limit: Duration)

    public var description: String {
        switch self {
        case .programNotFound(let name): "program not found in PATH: \(name)"
        case .launchFailed(let arguments, let reason): "cannot start `\(arguments.joined(separator: " "))`: \(reason)"
        case .failed(let result): "command failed: \(result)"
        case .timedOut(let result, let limit): "command timed out after \(limit) and was killed: \(result)"
        }
    }
}

/// A process started by ``Command/start(_:environment:outputDirectory:)`` that runs until stopped.
///
/// Started with `posix_spawn` in its own process group, with a clean signal mask and default signal
/// dispositions, stdin from `/dev/null` (or the given input) and every descriptor above 2 closed, so a
/// daemon it leaves behind holds nothing of the test process. Its exit is collected with `waitpid`.
/// Safe to use from several tasks.
public final class ChildProcess: Sendable {
    public let arguments: [String]
    public let pid: Int32
    /// Files holding what the process wrote so far.
    public let standardOutputPath: String
    public let standardErrorPath: String
    /// The exit status once reaped; `waitpid` runs under this lock so it reaps exactly once.
    private let exitStatus = Mutex<ExitStatus?>(nil)
    private let removesOutputFiles: Bool

    init(
        arguments: [String], environment: [String: String], input: String?, outputDirectory: String?
    ) throws {
        let program = arguments[0]
        guard let executable = Command.resolve(program) else { throw CommandError.programNotFound(program) }
        let directory = outputDirectory ?? FileManager.default.temporaryDirectory.path
        let stem = "\(directory)/cmd-\(UInt64.random(in: 0...UInt64.max))"
        self.standardOutputPath = stem + ".out"
        self.standardErrorPath = stem + ".err"
        self.removesOutputFiles = outputDirectory == nil
        self.arguments = arguments

        var inputPath = "/dev/null"
        if let input {
            inputPath = stem + ".in"
            guard FileManager.default.createFile(atPath: inputPath, contents: Data(input.utf8)) else {
                throw CommandError.launchFailed(arguments: arguments, reason: "cannot write \(inputPath)")
            }
        }
        // posix_spawn returns after the child has opened its files, so the input file can go at once.
        defer { if input != nil { unlink(inputPath) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, standardErrorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        Command.addCloseFrom3(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        // The test runner's threads may block or ignore signals; the child must see SIGTERM as usual.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let variables = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let argv: [UnsafeMutablePointer<CChar>?] =
            [strdup(executable)] + arguments.dropFirst().map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard code == 0 else {
            throw CommandError.launchFailed(arguments: arguments, reason: String(cString: strerror(code)))
        }
        self.pid = pid
    }

    deinit {
        if removesOutputFiles {
            try? FileManager.default.removeItem(atPath: standardOutputPath)
            try? FileManager.default.removeItem(atPath: standardErrorPath)
        }
    }

    /// How the process ended, or nil while it runs (reaps it with `waitpid` once it has ended).
    public var status: ExitStatus? {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are C macros: decode by hand.
            status = raw & 0x7f == 0 ? .exited((raw >> 8) & 0xff) : .signaled(raw & 0x7f)
            return status
        }
    }

    public var isRunning: Bool { status == nil }

    /// What the process wrote to stdout so far.
    public var standardOutput: String { (try? String(contentsOfFile: standardOutputPath, encoding: .utf8)) ?? "" }

    /// What the process wrote to stderr so far.
    public var standardError: String { (try? String(contentsOfFile: standardErrorPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` unless the process has already been reaped (so a recycled pid is never hit).
    public func send(signal: Int32) {
        guard isRunning else { return }
        kill(pid, signal)
    }

    /// Sends `signal` to the process group the child leads (the command and whatever it started that
    /// did not move to a group of its own).
    public func sendToGroup(signal: Int32) {
        guard isRunning else { return }
        kill(-pid, signal)
    }

    /// Waits for the process to end; nil if it is still running after `timeout`.
    @discardableResult
    public func waitForExit(timeout: Duration) async -> ExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status { return status }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits for the process to end without an async context (teardown from `deinit`).
    @discardableResult
    public func waitForExitBlocking(timeout: Duration) -> ExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status { return status }
            if ContinuousClock.now >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// The finished command as a result (for error messages); the status is nil while it runs.
    public var result: CommandResult {
        CommandResult(
            arguments: arguments, status: status ?? .exited(-1), standardOutput: standardOutput,
            standardError: standardError)
    }

    /// Waits until stdout contains `text`; false if the process ended or `timeout` passed first.
    public func waitForOutput(containing text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if standardOutput.contains(text) { return true }
            if !isRunning { return standardOutput.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// Runs external programs with their output captured in files.
public enum Command {
    /// Directories searched after `PATH`, so `ip` is found even with a user's `PATH`.
    static let fallbackDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the Glibc module does not
    /// export (it sits behind `_GNU_SOURCE`), looked up once.
    private static let addCloseFrom:
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
            else { return nil }
            return unsafeBitCast(
                symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
        }()

    /// Makes the child close every descriptor above 2 (falling back to the ones open right now).
    static func addCloseFrom3(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom, addCloseFrom(&actions, 3) == 0 { return }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
    }

    /// The absolute path of `program` (returned unchanged when it contains a slash), or nil.
    public static func resolve(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + fallbackDirectories {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `arguments` to completion and returns what happened.
    ///
    /// - Parameters:
    ///   - environment: added to (and overriding) this process's environment.
    ///   - input: written to the command's stdin; without it stdin is `/dev/null`.
    ///   - timeout: the command is killed (SIGKILL) after this long and ``CommandError/timedOut(_:limit:)`` thrown.
    ///   - check: when true, a non-zero status throws ``CommandError/failed(_:)``.
    @discardableResult
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], input: String? = nil,
        timeout: Duration = .seconds(30), check: Bool = true
    ) async throws -> CommandResult {
        let child = try ChildProcess(arguments: arguments, environment: environment, input: input, outputDirectory: nil)
        guard let status = await child.waitForExit(timeout: timeout) else {
            child.sendToGroup(signal: SIGKILL)
            await child.waitForExit(timeout: .seconds(5))
            throw CommandError.timedOut(child.result, limit: timeout)
        }
        let result = CommandResult(
            arguments: arguments, status: status, standardOutput: child.standardOutput,
            standardError: child.standardError)
        if check && !result.succeeded { throw CommandError.failed(result) }
        return result
    }

    /// The blocking twin of ``run(_:environment:input:timeout:check:)`` for teardown in `deinit`;
    /// never throws, returns nil if the command could not start or timed out.
    @discardableResult
    public static func runBlocking(_ arguments: [String], timeout: Duration = .seconds(10)) -> CommandResult? {
        guard let child = try? ChildProcess(arguments: arguments, environment: [:], input: nil, outputDirectory: nil)
        else { return nil }
        guard let status = child.waitForExitBlocking(timeout: timeout) else {
            child.sendToGroup(signal: SIGKILL)
            child.waitForExitBlocking(timeout: .seconds(5))
            return nil
        }
        return CommandResult(
            arguments: arguments, status: status, standardOutput: child.standardOutput,
            standardError: child.standardError)
    }

    /// Starts `arguments` and returns at once; output goes to files in `outputDirectory`
    /// (a temporary directory when nil, removed with the returned object).
    public static func start(
        _ arguments: [String], environment: [String: String] = [:], outputDirectory: String? = nil
    ) throws -> ChildProcess {
        try ChildProcess(arguments: arguments, environment: environment, input: nil, outputDirectory: outputDirectory)
    }
}

extension String {
    /// The last `count` lines, so error messages stay readable when a log is long.
    func suffixLines(_ count: Int) -> String {
        let lines = split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > count else { return self }
        return "…(\(lines.count - count) lines omitted)\n" + lines.suffix(count).joined(separator: "\n")
    }
}
