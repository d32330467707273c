import Foundation

/// What the privileged integration tests need from the machine, checked without side effects.
public enum LabEnvironment {
    /// The tools every netns lab uses.
    public static let baseTools = ["ip", "wg", "ping", "python3"]

    /// True when running as root (namespaces, veth and TUN need it).
    public static var isRoot: Bool { geteuid() == 0 }

    /// The tools from `tools` that are not in `PATH`.
    public static func missingTools(_ tools: [String]) -> [String] {
        tools.filter { Command.resolve($0) == nil }
    }

    /// True when running as root with every tool in ``baseTools`` and `tools` installed.
    public static func canRunLab(needing tools: [String] = []) -> Bool {
        isRoot && missingTools(baseTools + tools).isEmpty
    }

    /// Why a lab cannot run here ("" when it can), for skip comments.
    public static func reasonLabCannotRun(needing tools: [String] = []) -> String {
        var reasons: [String] = []
        if !isRoot { reasons.append("not root") }
        let missing = missingTools(baseTools + tools)
        if !missing.isEmpty { reasons.append("missing tools: \(missing.joined(separator: ", "))") }
        return reasons.joined(separator: "; ")
    }

    /// The real python3 interpreter (`sys.executable`), not a version-manager shim: a shim may run
    /// python as its child, and SIGTERM would then stop the shim and orphan the interpreter.
    public static let python: String = {
        let probe = Command.runBlocking(["python3", "-c", "import sys; print(sys.executable)"])
        let path = probe?.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return path.isEmpty ? "python3" : path
    }()

    /// The package root, derived from this file's location (`<root>/Tests/MeshgateTestSupport/…`).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// The meshgate-wg executable under test: `$MESHGATE_WG_BINARY`, or `<package root>/.build/debug/meshgate-wg`.
    /// Throws with build instructions when it is missing: tests never build it themselves.
    public static func meshgateBinary() throws -> String {
        let path =
            ProcessInfo.processInfo.environment["MESHGATE_WG_BINARY"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(packageRoot)/.build/debug/meshgate-wg"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw LabError.binaryMissing(path)
        }
        return path
    }
}

/// Failures of the netns lab itself (not of the behaviour under test).
public enum LabError: Error, CustomStringConvertible {
    case binaryMissing(String)
    case daemonNotReady(interface: String, detail: String)
    case unexpectedOutput(command: String, output: String)
    case timedOut(String)
    /// Teardown found something left behind (process, namespace, socket).
    case leaked([String])
    /// The test body failed and teardown also found leaks.
    case failedAndLeaked(any Error, [String])

    public var description: String {
        switch self {
        case .binaryMissing(let path):
            "meshgate-wg not found at \(path). Build it first with "
                + "`flock /tmp/meshgate-swift.lock swift build --product meshgate-wg` in the package root, "
                + "or point MESHGATE_WG_BINARY at a built binary (the tests never build it themselves)."
        case .daemonNotReady(let interface, let detail):
            "WireGuard interface \(interface) did not become ready: \(detail)"
        case .unexpectedOutput(let command, let output):
            "unexpected output from `\(command)`: \(output)"
        case .timedOut(let what):
            "timed out: \(what)"
        case .leaked(let problems):
            "lab teardown found leftovers:\n- " + problems.joined(separator: "\n- ")
        case .failedAndLeaked(let error, let problems):
            "\(error)\nand lab teardown found leftovers:\n- " + problems.joined(separator: "\n- ")
        }
    }
}
