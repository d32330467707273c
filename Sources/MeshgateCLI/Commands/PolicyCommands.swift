import ArgumentParser
import ControlProtocol
import Foundation
import NetworkTypes
import Policy

/// `meshgate policy check|test|diff`: the operator's tools for the least-privilege policy, no daemon
/// needed except for `diff` against the running policy.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check a policy file, ask which rule decides a flow, or see what a reload would change.",
        subcommands: [PolicyCheck.self, PolicyTest.self, PolicyDiff.self])
}

/// Exit codes of the policy commands beyond 0 and 1.
enum PolicyExit {
    /// `policy test`: the flow is denied.
    static let denied = ExitCode(3)
}

/// Reads and compiles a policy file; prints `FILE:LINE:COLUMN: message` and exits 1 when it is refused.
func loadPolicy(_ file: String) throws -> CompiledPolicy {
    guard let data = FileManager.default.contents(atPath: file) else {
        printError("\(file): cannot read the file")
        throw ExitCode.failure
    }
    do {
        return try CompiledPolicy(bytes: Array(data), path: file)
    } catch {
        printError("\(file):\(error)")
        throw ExitCode.failure
    }
}

struct PolicyCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a policy file and run its tests, without a daemon.",
        discussion: """
            Syntax (HuJSON: comments and trailing commas allowed), unknown keys, undefined names and \
            contradictions are reported with line and column; then every entry of `tests` must pass. \
            Exit code 0 if the policy would be accepted by a gateway, 1 if not.
            """)

    @Argument(help: "The policy file (HuJSON).")
    var file: String

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    struct Report: Codable {
        var file: String
        var sha256: String
        var rules: Int
        var routeApprovals: Int
        var tests: Int
        var kernelElements: Int
    }

    func run() throws {
        let compiled = try loadPolicy(file)
        let policy = compiled.policy
        let report = Report(
            file: file, sha256: compiled.digest, rules: policy.ruleNames.count,
            routeApprovals: policy.routeApprovals.count,
            tests: policy.tests.reduce(0) { $0 + $1.expectations.count },
            kernelElements: compiled.tables.kernelElementCount())
        if json {
            print(ControlProtocol.jsonOutput(report))
        } else {
            print(
                "\(file): valid (sha256 \(compiled.shortDigest)): \(report.rules) rules, \(report.routeApprovals) route approvals, \(report.tests) test expectations passed, \(report.kernelElements) kernel map elements"
            )
        }
    }
}

struct PolicyTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Which rule of a policy decides a flow, and why.",
        discussion: """
            Prints the first rule that accepts the flow, with its line, or that no rule does (default deny). \
            Exit code 0 if accepted, 3 if denied, 1 if the policy is invalid.
            """)

    @Argument(help: "The policy file (HuJSON).")
    var file: String

    @Option(help: "The source address.")
    var src: String

    @Option(help: "The destination, ADDRESS:PORT or ADDRESS (IPv6: [ADDRESS]:PORT).")
    var dst: String

    @Option(help: "The protocol: tcp, udp, sctp, icmp, or a number.")
    var proto: String = "tcp"

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    struct Report: Codable {
        var accepted: Bool
        var rule: String?
        var line: Int?
        var source: String
        var destination: String
        var port: Int
        var proto: String
    }

    func run() throws {
        let compiled = try loadPolicy(file)
        guard let source = IPAddress(src) else { throw ValidationError("--src: \"\(src)\" is not an IP address") }
        let (destination, port) = try Self.destination(dst)
        guard let number = Policy.protocolNumbers(proto)?.first else {
            throw ValidationError("--proto: \"\(proto)\" is not a protocol name or number")
        }
        // ICMP has two numbers; pick the family's.
        let protocolNumber: UInt8 = (number == 1 && !destination.isV4) ? 58 : number
        let rule = compiled.policy.decide(
            source: source, destination: destination, protocolNumber: protocolNumber, port: port)
        let report = Report(
            accepted: rule != nil, rule: rule?.name, line: rule?.position.line, source: source.description,
            destination: destination.description, port: Int(port), proto: Policy.protocolName(protocolNumber))
        if json {
            print(ControlProtocol.jsonOutput(report))
        } else if let rule {
            let services = rule.services.map(\.description).joined(separator: ", ")
            print("accept: \(rule.name) (line \(rule.position.line)) allows \(services) from \(src) to \(dst)")
        } else {
            print("deny: no rule accepts \(Policy.protocolName(protocolNumber)) from \(src) to \(dst) (default deny)")
        }
        if rule == nil { throw PolicyExit.denied }
    }

    static func destination(_ text: String) throws -> (IPAddress, UInt16) {
        if let address = IPAddress(text) { return (address, 0) }
        var host = Substring(text)
        var portText: Substring = ""
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[close...].dropFirst().drop { $0 == ":" }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let address = IPAddress(String(host)) else {
            throw ValidationError("--dst: \"\(text)\" is not ADDRESS:PORT")
        }
        guard portText.isEmpty || UInt16(portText) != nil else {
            throw ValidationError("--dst: \"\(portText)\" is not a port")
        }
        return (address, UInt16(portText) ?? 0)
    }
}

struct PolicyDiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What loading a policy file would change: rules, route approvals, kernel map size.",
        discussion: """
            Compares FILE with the policy the daemon enforces now (or with --from OLD). Rules are compared \
            by name (acls[N], grants[N]) and content. Exit code 0 if nothing changes, 3 if something does, \
            1 on error.
            """)

    @Argument(help: "The policy file a reload would load.")
    var file: String

    @Option(help: "Compare with this file instead of the running policy.")
    var from: String?

    @OptionGroup var options: DaemonOptions

    func run() throws {
        let new = try loadPolicy(file)
        let old: CompiledPolicy?
        if let from {
            old = try loadPolicy(from)
        } else {
            let response: ControlResponse
            do {
                response = try ControlClient.send(.policySource, socketPath: options.socket)
            } catch {
                printError("meshgate: \(error)")
                throw ExitCode.failure
            }
            if response.ok, let text = response.message {
                do {
                    old = try CompiledPolicy(bytes: Array(text.utf8), path: "running policy")
                } catch {
                    printError("meshgate: the running policy no longer compiles: \(error)")
                    throw ExitCode.failure
                }
            } else {
                old = nil  // No policy runs: everything is new.
            }
        }
        let lines = Self.differences(from: old, to: new)
        if options.json {
            print(ControlProtocol.jsonOutput(["changes": lines]))
        } else {
            print(lines.isEmpty ? "no changes" : lines.joined(separator: "\n"))
        }
        if !lines.isEmpty { throw PolicyExit.denied }
    }

    /// One line per change, `+`/`-`/`~` first.
    static func differences(from old: CompiledPolicy?, to new: CompiledPolicy) -> [String] {
        guard old?.digest != new.digest else { return [] }
        var lines = ["~ sha256 \(old?.shortDigest ?? "none") → \(new.shortDigest)"]
        func content(_ policy: Policy?) -> [String: String] {
            var result: [String: String] = [:]
            for rule in policy?.rules ?? [] {
                let text =
                    "\(describe(rule.sources)) → \(describe(rule.destinations)) \(rule.services.map(\.description).joined(separator: ","))"
                result[rule.name, default: ""] += result[rule.name] == nil ? text : "; " + text
            }
            return result
        }
        let before = content(old?.policy)
        let after = content(new.policy)
        for name in Set(before.keys).union(after.keys).sorted(by: ruleOrder) {
            switch (before[name], after[name]) {
            case (nil, let added?): lines.append("+ rule \(name): \(added)")
            case (let removed?, nil): lines.append("- rule \(name): \(removed)")
            case (let was?, let now?) where was != now: lines.append("~ rule \(name): \(was)  ⇒  \(now)")
            default: break
            }
        }
        func approvals(_ policy: Policy?) -> Set<String> {
            Set(
                (policy?.routeApprovals ?? []).flatMap { approval in
                    approval.gateways.map { "\(approval.prefix) by \($0)" }
                })
        }
        let approvalsBefore = approvals(old?.policy)
        let approvalsAfter = approvals(new.policy)
        for item in approvalsAfter.subtracting(approvalsBefore).sorted() { lines.append("+ route approval \(item)") }
        for item in approvalsBefore.subtracting(approvalsAfter).sorted() { lines.append("- route approval \(item)") }
        let elementsBefore = old?.tables.kernelElementCount() ?? 0
        let elementsAfter = new.tables.kernelElementCount()
        if elementsBefore != elementsAfter {
            lines.append("~ kernel map elements \(elementsBefore) → \(elementsAfter)")
        }
        return lines
    }

    /// `acls[2]` before `acls[10]`, ACLs before grants.
    static func ruleOrder(_ a: String, _ b: String) -> Bool {
        func key(_ name: String) -> (String, Int) {
            let parts = name.split(whereSeparator: { $0 == "[" || $0 == "]" })
            return (String(parts.first ?? ""), Int(parts.dropFirst().first ?? "") ?? 0)
        }
        return key(a) < key(b)
    }

    /// Address ranges as prefixes or `a-b`, shortened past a few.
    static func describe(_ ranges: AddressRanges) -> String {
        if ranges == AddressRanges.everything { return "*" }
        var parts: [String] = []
        for family in AddressFamily.allCases {
            for range in ranges.ranges(family) {
                let low = IPAddress(family: family, numericValue: range.lowerBound)
                let high = IPAddress(family: family, numericValue: range.upperBound)
                parts.append(low == high ? low.description : "\(low)-\(high)")
            }
        }
        return parts.count <= 4
            ? parts.joined(separator: ",") : parts.prefix(4).joined(separator: ",") + ",…(\(parts.count))"
    }
}
