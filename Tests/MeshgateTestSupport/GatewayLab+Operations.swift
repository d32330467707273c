// Operations helpers for the two-region GatewayLab (issue 4): the `/metrics` exposition of a gateway, a real
// Prometheus server inside a gateway's namespace, the JSON audit log, the `meshgate` CLI commands the lab
// class does not wrap (peers, reload, rotate-key, drills), config edits, and LAN-to-LAN ping measurements
// that also count lost sequence numbers.
//
// Every gateway serves metrics on 127.0.0.1:9586 inside its own namespace, so everything that talks HTTP
// to it (curl, Prometheus) runs in that namespace with `ip netns exec`.

import Foundation
import Glibc

// MARK: - The Prometheus text exposition of one gateway

/// One sample line of a scrape: `name{labels} value`.
public struct MetricSample: Sendable, CustomStringConvertible {
    public let name: String
    public let labels: [String: String]
    public let value: Double

    public var description: String {
        let labelText = labels.keys.sorted().map { "\($0)=\"\(labels[$0]!)\"" }.joined(separator: ",")
        return "\(name){\(labelText)} \(value)"
    }
}

/// A scrape of `/metrics`: the raw text (for `promtool check metrics`) and its parsed samples.
public struct MetricsScrape: Sendable, CustomStringConvertible {
    public let text: String
    public let samples: [MetricSample]

    /// Parses the text exposition format (comments skipped, label values unescaped).
    public init(text: String) throws {
        self.text = text
        var samples: [MetricSample] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let sample = MetricsScrape.parse(line) else {
                throw GatewayLabError.unexpectedOutput(command: "GET /metrics", output: "unparsable line: \(line)")
            }
            samples.append(sample)
        }
        self.samples = samples
    }

    /// The samples of `name` whose labels include `labels`.
    public func samples(_ name: String, _ labels: [String: String] = [:]) -> [MetricSample] {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The value of the one sample of `name` whose labels include `labels`; nil when there is none (or
    /// more than one).
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name, labels)
        return matching.count == 1 ? matching[0].value : nil
    }

    /// Whether the exposition declares the family `name` (a `# TYPE` line).
    public func declares(_ name: String) -> Bool {
        text.split(separator: "\n").contains { $0.hasPrefix("# TYPE \(name) ") }
    }

    public var description: String { samples.map(\.description).joined(separator: "\n") }

    private static func parse(_ line: String) -> MetricSample? {
        let characters = Array(line)
        var index = 0
        var name = ""
        while index < characters.count, characters[index] != "{", characters[index] != " " {
            name.append(characters[index])
            index += 1
        }
        var labels: [String: String] = [:]
        if index < characters.count, characters[index] == "{" {
            index += 1
            while true {
                while index < characters.count, characters[index] == "," || characters[index] == " " { index += 1 }
                guard index < characters.count else { return nil }
                if characters[index] == "}" {
                    index += 1
                    break
                }
                var key = ""
                while index < characters.count, characters[index] != "=" {
                    key.append(characters[index])
                    index += 1
                }
                guard index + 1 < characters.count, characters[index + 1] == "\"" else { return nil }
                index += 2
                var value = ""
                while index < characters.count, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < characters.count {
                        index += 1
                        value.append(characters[index] == "n" ? "\n" : characters[index])
                    } else {
                        value.append(characters[index])
                    }
                    index += 1
                }
                guard index < characters.count else { return nil }
                index += 1
                labels[key] = value
            }
        }
        let rest = String(characters[index...]).split(separator: " ")
        guard !name.isEmpty, let first = rest.first, let value = parseValue(String(first)) else { return nil }
        return MetricSample(name: name, labels: labels, value: value)
    }

    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}

extension GatewayLab {
    /// Where every gateway of the lab serves `/metrics`, inside its own namespace.
    public static let metricsAddress = "127.0.0.1:9586"

    /// `curl http://127.0.0.1:9586/metrics` in `gateway`'s namespace, parsed.
    public func scrapeMetrics(_ gateway: LabGateway) async throws -> MetricsScrape {
        let result = try await run(
            in: namespace(gateway),
            ["curl", "-sS", "--fail", "--max-time", "5", "http://\(GatewayLab.metricsAddress)/metrics"],
            timeout: .seconds(10))
        return try MetricsScrape(text: result.standardOutput)
    }
}

// MARK: - A real Prometheus server in a gateway's namespace

/// One element of an instant-query vector from the Prometheus HTTP API.
public struct PrometheusSample: Sendable, CustomStringConvertible {
    public let labels: [String: String]
    public let value: Double

    public var description: String {
        let labelText = labels.keys.sorted().map { "\($0)=\"\(labels[$0]!)\"" }.joined(separator: ",")
        return "{\(labelText)} \(value)"
    }
}

/// One alerting or recording rule as `/api/v1/rules` reports it.
public struct PrometheusRule: Sendable, CustomStringConvertible {
    public let group: String
    public let name: String
    public let health: String
    public let lastError: String

    public var description: String { "\(group)/\(name): \(health)\(lastError.isEmpty ? "" : " (\(lastError))")" }
}

/// `prometheus` (Debian's /usr/bin/prometheus) running in one gateway's namespace on loopback, scraping that
/// gateway's `/metrics` every second, with its own TSDB in the lab's scratch directory. Queried with curl in
/// the same namespace. Started as a lab helper, so the lab kills it at teardown if ``stop()`` was not reached.
public final class PrometheusServer: Sendable {
    public let namespace: String
    public let port: Int
    /// Config file, TSDB and nothing else.
    public let directory: String
    public let process: ChildProcess
    private let lab: GatewayLab

    private init(lab: GatewayLab, namespace: String, port: Int, directory: String, process: ChildProcess) {
        self.lab = lab
        self.namespace = namespace
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Starts Prometheus in `gateway`'s namespace and waits until it is ready (not until it has scraped).
    public static func start(
        lab: GatewayLab, in gateway: LabGateway, ruleFiles: [String], scrapeInterval: String = "1s"
    ) async throws -> PrometheusServer {
        let namespace = lab.namespace(gateway)
        let directory = "\(lab.scratchDirectory)/prometheus-\(gateway.rawValue)"
        try FileManager.default.createDirectory(atPath: "\(directory)/data", withIntermediateDirectories: true)
        let config = """
            global:
              scrape_interval: \(scrapeInterval)
              scrape_timeout: \(scrapeInterval)
              evaluation_interval: \(scrapeInterval)
            rule_files:
            \(ruleFiles.map { "  - \($0)" }.joined(separator: "\n"))
            scrape_configs:
              - job_name: meshgate
                static_configs:
                  - targets: ["\(GatewayLab.metricsAddress)"]

            """
        try config.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
        // A port nobody uses in the namespace: the kernel picks one, the probe socket closes, Prometheus takes it.
        let probe = try await lab.run(
            in: namespace,
            [
                LabEnvironment.python, "-c",
                "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
            ])
        guard let port = Int(probe.standardOutput.trimmed) else {
            throw GatewayLabError.unexpectedOutput(command: "free port probe", output: probe.description)
        }
        let process = try lab.startHelper(
            in: namespace,
            [
                "prometheus", "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--web.enable-lifecycle", "--log.level=warn",
            ])
        let server = PrometheusServer(
            lab: lab, namespace: namespace, port: port, directory: directory, process: process)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw GatewayLabError.unexpectedOutput(command: "prometheus", output: process.result.description)
            }
            let ready = try await lab.run(
                in: namespace,
                [
                    "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2",
                    "\(server.baseURL)/-/ready",
                ],
                check: false)
            if ready.standardOutput.trimmed == "200" { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        await server.stop()
        throw GatewayLabError.unexpectedOutput(
            command: "prometheus (not ready after 30 s)", output: process.result.description)
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// GET `path` with URL-encoded `parameters`; the `data` member of a `"status": "success"` answer.
    private func apiData(_ path: String, _ parameters: [(String, String)] = []) async throws -> Any {
        var arguments = ["curl", "-sS", "--max-time", "5", "-G", "\(baseURL)\(path)"]
        for (key, value) in parameters { arguments += ["--data-urlencode", "\(key)=\(value)"] }
        let result = try await lab.run(in: namespace, arguments, timeout: .seconds(10))
        let object = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        guard let answer = object as? [String: Any], answer["status"] as? String == "success",
            let data = answer["data"]
        else {
            throw GatewayLabError.unexpectedOutput(command: "GET \(path) \(parameters)", output: result.description)
        }
        return data
    }

    /// `/api/v1/query?query=EXPRESSION`: the instant vector (a scalar comes back as one unlabelled sample).
    public func query(_ expression: String) async throws -> [PrometheusSample] {
        let data = try await apiData("/api/v1/query", [("query", expression)])
        guard let body = data as? [String: Any], let type = body["resultType"] as? String else {
            throw GatewayLabError.unexpectedOutput(command: "query \(expression)", output: "\(data)")
        }
        func number(_ pair: Any?) -> Double? {
            guard let pair = pair as? [Any], pair.count == 2, let text = pair[1] as? String else { return nil }
            return MetricsScrape.parseValue(text)
        }
        switch type {
        case "vector":
            guard let result = body["result"] as? [[String: Any]] else { return [] }
            return try result.map { element in
                guard let value = number(element["value"]) else {
                    throw GatewayLabError.unexpectedOutput(command: "query \(expression)", output: "\(element)")
                }
                return PrometheusSample(labels: element["metric"] as? [String: String] ?? [:], value: value)
            }
        case "scalar":
            return number(body["result"]).map { [PrometheusSample(labels: [:], value: $0)] } ?? []
        default:
            throw GatewayLabError.unexpectedOutput(command: "query \(expression)", output: "result type \(type)")
        }
    }

    /// Queries `expression` every 200 ms until `condition` holds or `timeout` passes; returns whether it
    /// held, the last result and how long it took.
    public func waitUntil(
        _ expression: String, timeout: Duration, _ condition: ([PrometheusSample]) -> Bool
    ) async throws -> (met: Bool, last: [PrometheusSample], elapsed: Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        var last: [PrometheusSample] = []
        while true {
            last = try await query(expression)
            if condition(last) { return (true, last, clock.now - start) }
            if clock.now - start >= timeout { return (false, last, clock.now - start) }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Every rule Prometheus loaded, with its evaluation health (`ok`, `unknown` before the first
    /// evaluation, `err`).
    public func rules() async throws -> [PrometheusRule] {
        let data = try await apiData("/api/v1/rules")
        guard let groups = (data as? [String: Any])?["groups"] as? [[String: Any]] else { return [] }
        return groups.flatMap { group in
            let name = group["name"] as? String ?? "?"
            return (group["rules"] as? [[String: Any]] ?? []).map { rule in
                PrometheusRule(
                    group: name, name: rule["name"] as? String ?? "?", health: rule["health"] as? String ?? "?",
                    lastError: rule["lastError"] as? String ?? "")
            }
        }
    }

    /// Asks Prometheus to quit (`POST /-/quit`), then SIGTERM, then SIGKILL; returns how it ended (nil if it
    /// survived everything).
    @discardableResult
    public func stop() async -> ExitStatus? {
        if process.isRunning {
            _ = try? await lab.run(
                in: namespace, ["curl", "-s", "-X", "POST", "--max-time", "2", "\(baseURL)/-/quit"], check: false)
        }
        if let status = await process.waitForExit(timeout: .seconds(10)) { return status }
        process.send(signal: SIGTERM)
        if let status = await process.waitForExit(timeout: .seconds(5)) { return status }
        process.sendToGroup(signal: SIGKILL)
        return await process.waitForExit(timeout: .seconds(5))
    }

    /// The end of Prometheus's own log, for failure messages.
    public var logTail: String { process.standardError.suffixLines(20) }
}

// MARK: - The audit log (JSON lines on the daemons' stdout)

/// One audit line of a gateway's log.
public struct AuditEvent: Sendable, CustomStringConvertible {
    /// Whose log it came from.
    public let gateway: LabGateway
    public let line: String
    public let event: String
    public let node: String
    public let timestamp: String
    /// Every member of the object, values as text (numbers and booleans as JSON writes them).
    public let fields: [String: String]

    public subscript(key: String) -> String? { fields[key] }
    public var description: String { "\(gateway): \(line)" }
}

/// What a gateway's log holds in audit lines.
public struct AuditLogReading: Sendable {
    /// Lines starting with `{` that parse as a JSON object with string `event`, `node` and `ts`.
    public let events: [AuditEvent]
    /// Lines starting with `{` that do not (with the reason).
    public let malformed: [String]
    /// Lines that contain an audit record (`{"…":…"event":`) but do not start with it: a record torn or
    /// glued to another line by interleaved writes.
    public let torn: [String]
}

extension GatewayLab {
    /// Parses the audit lines of `gateway`'s log (stdout and stderr of every run of its daemon).
    public func auditLog(_ gateway: LabGateway) -> AuditLogReading {
        let text = (try? String(contentsOfFile: logFile(gateway), encoding: .utf8)) ?? ""
        var events: [AuditEvent] = []
        var malformed: [String] = []
        var torn: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(raw)
            guard line.hasPrefix("{") else {
                if line.contains("\"event\":"), line.contains("\"node\":"), line.contains("{\"") { torn.append(line) }
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                malformed.append("not a JSON object: \(line)")
                continue
            }
            guard let event = object["event"] as? String, let node = object["node"] as? String,
                let timestamp = object["ts"] as? String
            else {
                malformed.append("event, node or ts missing or not a string: \(line)")
                continue
            }
            var fields: [String: String] = [:]
            for (key, value) in object { fields[key] = value as? String ?? "\(value)" }
            events.append(
                AuditEvent(
                    gateway: gateway, line: line, event: event, node: node, timestamp: timestamp, fields: fields))
        }
        return AuditLogReading(events: events, malformed: malformed, torn: torn)
    }

    /// Waits up to `timeout` for an audit event of `gateway` beyond the first `skipping` events that
    /// satisfies `predicate`.
    public func waitForAudit(
        _ gateway: LabGateway, skipping: Int = 0, timeout: Duration = .seconds(3),
        where predicate: (AuditEvent) -> Bool
    ) async -> AuditEvent? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = auditLog(gateway).events.dropFirst(skipping).first(where: predicate) { return found }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The lines of `gateway`'s log that are not audit records (the human log on stderr).
    public func humanLog(_ gateway: LabGateway) -> [String] {
        let text = (try? String(contentsOfFile: logFile(gateway), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("{") }
    }
}

// MARK: - The CLI beyond status and routes

/// One entry of `meshgate peers --json`.
public struct PeerStatus: Decodable, Sendable, CustomStringConvertible {
    public let name: String
    public let publicKey: String
    public let endpoint: String?
    public let overlayAddress: String
    public let up: Bool
    public let lastHandshakeSecondsAgo: Double?
    public let receivedBytes: UInt64
    public let transmittedBytes: UInt64
    public let rttP50Milliseconds: Double?
    public let rttP95Milliseconds: Double?
    public let rttP99Milliseconds: Double?
    public let probeLossRatio: Double?
    public let directLink: Bool?
    public let via: String?
    public let relayedRTTMilliseconds: Double?

    public var description: String {
        "\(name) \(up ? "up" : "DOWN") via \(via ?? "direct") key \(publicKey) rx \(receivedBytes) tx \(transmittedBytes)"
    }
}

private struct OperationsReply: Decodable {
    let ok: Bool
    let error: String?
    let peers: [PeerStatus]?
    let drill: DrillFigures?
}

extension GatewayLab {
    /// Runs `meshgate ARGUMENTS --socket <gateway's control socket>`; never throws for a non-zero exit.
    @discardableResult
    public func meshgateCommand(_ gateway: LabGateway, _ arguments: [String], timeout: Duration = .seconds(30))
        async throws -> CommandResult
    {
        try await Command.run(
            [meshgate] + arguments + ["--socket", controlSocket(gateway)], timeout: timeout, check: false)
    }

    /// `meshgate peers --json` on `gateway`.
    public func peerStatuses(_ gateway: LabGateway) async throws -> [PeerStatus] {
        let result = try await meshgateCommand(gateway, ["peers", "--json"])
        guard let reply = try? JSONDecoder().decode(OperationsReply.self, from: Data(result.standardOutput.utf8)),
            let peers = reply.peers
        else { throw CommandError.failed(result) }
        return peers
    }

    /// `meshgate drill key-rotation --json` on `gateway`: the figures, the error when it failed, the command.
    public func drillKeyRotation(on gateway: LabGateway) async throws -> (DrillFigures?, error: String?, CommandResult)
    {
        let result = try await meshgateCommand(gateway, ["drill", "key-rotation", "--json"])
        guard let reply = try? JSONDecoder().decode(OperationsReply.self, from: Data(result.standardOutput.utf8)) else {
            return (nil, "unreadable answer", result)
        }
        return (reply.drill, reply.ok ? nil : reply.error ?? "failed", result)
    }

    /// `meshgate reload` on `gateway` (text output: the message on stdout, a refusal on stderr).
    public func reloadConfig(_ gateway: LabGateway) async throws -> CommandResult {
        try await meshgateCommand(gateway, ["reload"])
    }

    /// Makes `gateway` its group's primary (a planned hand-over, `meshgate drill failover --no-restore`,
    /// when its partner holds the role) and waits until the lab has settled on it.
    public func makePrimary(_ gateway: LabGateway) async throws {
        let primaries = try await restoreBaseline()
        guard let current = primaries[gateway.region], current != gateway else { return }
        let handOver = try await meshgateCommand(
            current,
            ["drill", "failover", "--group", gateway.region.group, "--no-restore", "--max-loss", "100", "--json"])
        guard handOver.succeeded else { throw CommandError.failed(handOver) }
        let after = try await waitSettled()
        guard after[gateway.region] == gateway else {
            throw GatewayLabError.notSettled(
                "\(gateway) is not primary of \(gateway.region) after a hand-over from \(current): \(after)")
        }
    }

    /// The public keys `wg show IFACE peers` lists in `gateway`'s namespace (through meshgated's UAPI socket).
    public func wireGuardPeers(_ gateway: LabGateway) async throws -> [String] {
        try await run(in: namespace(gateway), ["wg", "show", interfaceName(gateway), "peers"]).standardOutput
            .split(separator: "\n").map { String($0).trimmed }.filter { !$0.isEmpty }
    }

    /// `wg show IFACE latest-handshakes` in `gateway`'s namespace: public key → Unix time (0: none).
    public func latestHandshakes(_ gateway: LabGateway) async throws -> [String: Int] {
        let output = try await run(in: namespace(gateway), ["wg", "show", interfaceName(gateway), "latest-handshakes"])
            .standardOutput
        var result: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if parts.count == 2, let time = Int(parts[1]) { result[String(parts[0])] = time }
        }
        return result
    }

    /// The pid of `gateway`'s daemon from its pid file.
    public func daemonPID(_ gateway: LabGateway) -> Int32? {
        (try? String(contentsOfFile: "\(directory(gateway))/pid", encoding: .utf8)).flatMap { Int32($0.trimmed) }
    }

    // MARK: Config files

    public func readConfig(_ gateway: LabGateway) throws -> String {
        try String(contentsOfFile: configFile(gateway), encoding: .utf8)
    }

    /// Replaces `gateway`'s config file atomically (the daemon reads it only on reload).
    public func writeConfig(_ gateway: LabGateway, _ text: String) throws {
        try text.write(toFile: configFile(gateway), atomically: true, encoding: .utf8)
    }
}

/// Edits of the lab's config files (the YAML gateway-lab.sh writes: `peers:` entries start with
/// `  - name: NAME` and their settings are indented by four spaces).
public enum ConfigEdit {
    /// `config` with `old` replaced by `new`; throws when `old` does not occur, so an edit never silently
    /// does nothing.
    public static func replacing(_ old: String, with new: String, in config: String) throws -> String {
        guard config.contains(old) else {
            throw GatewayLabError.unexpectedOutput(command: "config edit: find `\(old)`", output: config)
        }
        return config.replacingOccurrences(of: old, with: new)
    }

    /// `config` with `setting` (`key: value`) added to the entry of peer `name`.
    public static func addingPeerSetting(_ setting: String, toPeer name: String, in config: String) throws -> String {
        var lines = config.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: "  - name: \(name)") else {
            throw GatewayLabError.unexpectedOutput(command: "config edit: find peer \(name)", output: config)
        }
        var end = start + 1
        while end < lines.count, lines[end].hasPrefix("    ") { end += 1 }
        lines.insert("    \(setting)", at: end)
        return lines.joined(separator: "\n")
    }

    /// `config` without the entry of peer `name`.
    public static func removingPeer(_ name: String, from config: String) throws -> String {
        var lines = config.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: "  - name: \(name)") else {
            throw GatewayLabError.unexpectedOutput(command: "config edit: find peer \(name)", output: config)
        }
        var end = start + 1
        while end < lines.count, lines[end].hasPrefix("    ") { end += 1 }
        lines.removeSubrange(start..<end)
        return lines.joined(separator: "\n")
    }
}

// MARK: - Traffic with per-sequence loss

/// ``GatewayLab/measureOutage(from:to:window:_:)``'s figures plus the echo requests that got no reply.
public struct TrafficMeasurement: Sendable, CustomStringConvertible {
    public let outage: OutageMeasurement
    /// The highest `icmp_seq` answered.
    public let highestSequence: Int
    /// Sequence numbers without a reply between the first and the last answered one (requests still in
    /// flight when ping was stopped do not count).
    public let lostSequences: [Int]

    public var description: String {
        "\(outage); \(lostSequences.count) of \(highestSequence) echo requests lost"
            + (lostSequences.isEmpty
                ? "" : " (icmp_seq \(lostSequences.prefix(20).map(String.init).joined(separator: ",")))")
    }
}

extension GatewayLab {
    /// Like ``measureOutage(from:to:window:_:)`` (`ping -D -i 0.01` from `from`'s LAN host to `to`'s, traffic
    /// flowing before `action`, `window` after it) but returns what `action` returned and also counts the
    /// echo requests that were lost.
    public func measureTraffic<T>(
        from: LabRegion = .fsn1, to: LabRegion = .nyc1, window: Duration = .milliseconds(1500),
        _ action: () async throws -> T
    ) async throws -> (T, TrafficMeasurement) {
        let ping = try startHelper(in: hostNamespace(from), ["ping", "-D", "-n", "-i", "0.01", to.hostAddress])
        defer { ping.sendToGroup(signal: SIGKILL) }
        let flowing = ContinuousClock.now + .seconds(3)
        while OutageMeasurement.replyTimestamps(in: ping.standardOutput).count < 20 {
            guard ContinuousClock.now < flowing, ping.isRunning else {
                throw GatewayLabError.notSettled("no ping replies before the action: \(ping.result)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        let started = Date().timeIntervalSince1970
        let value = try await action()
        let finished = Date().timeIntervalSince1970
        try await Task.sleep(for: window)
        let end = Date().timeIntervalSince1970
        ping.send(signal: SIGINT)
        await ping.waitForExit(timeout: .seconds(5))
        let output = ping.standardOutput
        let outage = OutageMeasurement(
            pingOutput: output, faultAt: started, faultDuration: finished - started, end: end)
        var answered = Set<Int>()
        for line in output.split(separator: "\n") where line.contains(" bytes from ") {
            guard let range = line.range(of: "icmp_seq=") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let sequence = Int(digits) { answered.insert(sequence) }
        }
        let lowest = answered.min() ?? 0
        let highest = answered.max() ?? 0
        let lost = answered.isEmpty ? [] : (lowest...highest).filter { !answered.contains($0) }
        return (value, TrafficMeasurement(outage: outage, highestSequence: highest, lostSequences: lost))
    }
}

/// Calls `body` every `interval` until it returns a value or `timeout` passes; the value, or nil.
public func pollUntil<T>(
    timeout: Duration, interval: Duration = .milliseconds(100), _ body: () async throws -> T?
) async rethrows -> T? {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await body() { return value }
        if ContinuousClock.now >= deadline { return nil }
        try? await Task.sleep(for: interval)
    }
}
