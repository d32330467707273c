// Running `ip` and `tshark` from the privileged tests.
//
// posix_spawn plus a blocking waitpid: nothing but the calling thread waits. Output goes to files, never
// pipes, so a chatty command cannot block on a full pipe.

import Foundation
import Glibc

/// What a finished command printed and how it ended.
struct CommandOutput: CustomStringConvertible {
    let arguments: [String]
    /// The exit code, or 128 + signal number when killed.
    let status: Int32
    let standardOutput: String
    let standardError: String

    var succeeded: Bool { status == 0 }

    var description: String {
        "`\(arguments.joined(separator: " "))` exited \(status)\n--- stdout ---\n\(standardOutput.prefix(2000))"
            + "\n--- stderr ---\n\(standardError.prefix(2000))"
    }
}

/// A command that could not run or failed when success was required.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
}

/// A started command, waited for with ``wait()``.
final class SpawnedCommand {
    let arguments: [String]
    let pid: pid_t
    let outputPath: String
    let errorPath: String

    init(_ arguments: [String]) throws {
        self.arguments = arguments
        let stem = "\(NSTemporaryDirectory())/mgt-nl-cmd-\(UInt64.random(in: 0...UInt64.max))"
        outputPath = stem + ".out"
        errorPath = stem + ".err"
        guard let program = Self.resolve(arguments[0]) else {
            throw CommandFailure(description: "program not found: \(arguments[0])")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments.dropFirst()).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard result == 0 else {
            throw CommandFailure(description: "posix_spawn \(program): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// Output written so far to stderr (tshark announces its capture there).
    var standardErrorSoFar: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// What the command printed so far on standard output.
    var standardOutputSoFar: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Blocks until the command ends and returns its output; removes the output files.
    func wait() -> CommandOutput {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        let code = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        let output = CommandOutput(
            arguments: arguments, status: code,
            standardOutput: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
        unlink(outputPath)
        unlink(errorPath)
        return output
    }

    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return program }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
    }
}

/// Runs a command to completion; throws with its output when `check` and it failed.
@discardableResult
func run(_ arguments: String..., check: Bool = true) throws -> CommandOutput {
    let output = try SpawnedCommand(arguments).wait()
    if check && !output.succeeded { throw CommandFailure(description: "command failed: \(output)") }
    return output
}

/// Whether `program` is installed.
func isInstalled(_ program: String) -> Bool { SpawnedCommand.resolve(program) != nil }

/// Privileged tests need root (CI runs as root).
let isRoot = getuid() == 0
