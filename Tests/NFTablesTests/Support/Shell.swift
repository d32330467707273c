// Running ip, nft, tshark and python3 from the privileged tests. Output goes to files (no pipe can fill up and
// stall the child), and every wait has a time limit, so a stuck tool fails the test instead of hanging it.

import Foundation
import Testing

/// A finished command and what it printed.
struct ShellResult: CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let standardOutput: String
    let standardError: String

    var description: String {
        "`\(arguments.joined(separator: " "))` exited \(status)\nstdout: \(standardOutput)\nstderr: \(standardError)"
    }
}

struct ShellError: Error, CustomStringConvertible {
    let description: String
}

/// A command started in the background; stopped (SIGTERM to its own pid) by ``stop()``.
final class BackgroundCommand {
    let arguments: [String]
    private let process = Process()
    private let outputURL: URL
    private let errorURL: URL

    init(_ arguments: [String]) throws {
        self.arguments = arguments
        let directory = FileManager.default.temporaryDirectory
        outputURL = directory.appendingPathComponent("nftables-test-\(UUID().uuidString).out")
        errorURL = directory.appendingPathComponent("nftables-test-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: outputURL)
        try? FileManager.default.removeItem(at: errorURL)
    }

    var standardOutput: String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Waits until `condition` holds, polling every 20 ms; false if `limit` passed first.
    func wait(upTo limit: Duration, until condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while !condition() {
            if ContinuousClock.now >= deadline { return false }
            usleep(20_000)
        }
        return true
    }

    /// Waits for the command to exit by itself; kills it and throws after `limit`.
    @discardableResult
    func waitForExit(upTo limit: Duration) throws -> ShellResult {
        guard wait(upTo: limit, until: { !process.isRunning }) else {
            stop()
            throw ShellError(
                description: "timed out after \(limit): \(arguments.joined(separator: " "))\n\(standardError)")
        }
        process.waitUntilExit()
        return ShellResult(
            arguments: arguments, status: process.terminationStatus, standardOutput: standardOutput,
            standardError: standardError)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

enum Shell {
    /// Runs a command to completion (found through PATH) and returns what it printed, whatever its status.
    static func run(_ arguments: String..., timeLimit: Duration = .seconds(20)) throws -> ShellResult {
        try BackgroundCommand(arguments).waitForExit(upTo: timeLimit)
    }

    /// Runs a command that must succeed and returns its standard output; throws with its output otherwise.
    @discardableResult
    static func check(_ arguments: String..., timeLimit: Duration = .seconds(20)) throws -> String {
        try check(arguments, timeLimit: timeLimit)
    }

    @discardableResult
    static func check(_ arguments: [String], timeLimit: Duration = .seconds(20)) throws -> String {
        let result = try BackgroundCommand(arguments).waitForExit(upTo: timeLimit)
        guard result.status == 0 else { throw ShellError(description: result.description) }
        return result.standardOutput
    }

    /// Whether `tool` is in PATH.
    static func hasTool(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only as root with `ip`, `nft` and `tools` installed.
    static func requiresRoot(_ tools: String...) -> Self {
        .enabled(
            if: getuid() == 0 && (["ip", "nft"] + tools).allSatisfy(Shell.hasTool),
            "needs root and ip, nft \(tools.joined(separator: ", "))")
    }
}
