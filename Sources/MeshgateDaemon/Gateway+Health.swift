import ControlProtocol
import Dataplane
import Foundation
import GatewayConfig
import GatewayController
import Glibc
import LinuxSystem
import NetworkTypes
import Routing
import Telemetry

// MARK: - Health: what the kernel really does, end-to-end path probes, the verdict

extension Gateway {
    /// Reads back what traffic depends on (forwarding switches, meshgate's nftables table) and finds the
    /// LAN side path probes leave from: the inputs of one housekeeping step. Caller holds `lock`.
    func observeKernel() -> [Input] {
        let config = controller.config
        var switches: [String: Bool] = [:]
        var restored: [String] = []
        for (family, wasOn) in kernel.ensureForwarding() {
            let name = family == "ipv4" ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding"
            if !wasOn { restored.append(name) }
            switches[name] = kernel.forwarding[family] ?? false
        }
        let lan = kernel.lanAddresses(in: config.advertise, excluding: config.ha?.lan.virtualIP.address)
        var interfaces = [device.interfaceName]
        if let ha = config.ha { interfaces.append(ha.lan.interface) }
        for entry in lan where !interfaces.contains(entry.interface) { interfaces.append(entry.interface) }
        switches.merge(kernel.interfaceForwarding(interfaces)) { global, _ in global }
        let drift = kernel.rulesetDrift()
        // Reinstalled by this step's sync: the table is ours, and what is in it must be what we put there.
        if drift != nil { applied.ruleset = nil }
        var inputs: [Input] = [
            .kernelObservation(
                KernelObservation(
                    forwarding: switches, forwardingRestored: restored, rulesetDrift: drift,
                    policyEnforced: config.policy == nil || kernel.enforcedPolicy == config.policy,
                    foreignForwardFilters: kernel.foreignForwardFilters()))
        ]
        // Path probes are IPv4 ICMP echo from the LAN side (the HA LAN interface first).
        let candidates = lan.filter { $0.address.isV4 }
        let source = (candidates.first { $0.interface == config.ha?.lan.interface } ?? candidates.first)?.address
        if source != pathProbeSocket?.source {
            pathProbeSocket?.close()
            pathProbeSocket = source.flatMap {
                try? ICMPEchoSocket(source: $0, identifier: Gateway.pathProbeIdentifier)
            }
            inputs.append(.pathProbeSource(pathProbeSocket?.source))
        }
        return inputs
    }

    /// The ICMP identifier of the loop's path probes (drills and `meshgate ping` use others).
    static var pathProbeIdentifier: UInt16 { UInt16(truncatingIfNeeded: getpid()) }

    /// Sends the path probes a step asked for. Caller holds `lock`.
    func sendPathProbes(_ probes: [PathProbe]) {
        guard let socket = pathProbeSocket else { return }
        for probe in probes where probe.source == socket.source {
            socket.send(
                sequence: UInt16(truncatingIfNeeded: probe.sequence), to: probe.target,
                payload: Gateway.pathProbePayload(probe.sequence))
        }
    }

    /// A secret of this run in every path probe: an answer must echo it, so a LAN host cannot forge
    /// answers for probes it never saw.
    static let pathProbeNonce: [UInt8] = (0..<8).map { _ in UInt8.random(in: 0...255) }

    static func pathProbePayload(_ sequence: UInt32) -> [UInt8] {
        GatewayController.pathProbeMagic + pathProbeNonce + withUnsafeBytes(of: sequence.bigEndian, Array.init)
    }

    /// The 32-bit sequence a path probe's echo reply carries, if it is one of ours.
    static func pathProbeSequence(in payload: [UInt8]) -> UInt32? {
        let prefix = GatewayController.pathProbeMagic + pathProbeNonce
        guard payload.count >= prefix.count + 4, payload.starts(with: prefix) else { return nil }
        return payload[prefix.count..<prefix.count + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Echo replies waiting on the path probe socket, as inputs; at most a few batches of reads per pass,
    /// whatever else arrives there.
    func pathProbeAnswers(_ socket: ICMPEchoSocket) -> [Input] {
        var inputs: [Input] = []
        for _ in 0..<16 {
            guard let reply = socket.receive() else { break }
            if let sequence = Gateway.pathProbeSequence(in: reply.payload) {
                inputs.append(.pathProbeAnswer(sequence: sequence, from: reply.from))
            }
        }
        return inputs
    }

    // MARK: Reports

    /// The controller's problems for the control socket. Caller holds `lock`.
    func problemReports(now: Timestamp) -> [ProblemReport] {
        let wallNow = Date()
        return controller.health.problems.map { problem in
            let ago = now.duration(since: problem.since).seconds
            return ProblemReport(
                kind: problem.kind.rawValue, subject: problem.subject, severity: problem.severity.rawValue,
                message: problem.message, hint: problem.hint,
                since: Gateway.rfc3339(wallNow.addingTimeInterval(-ago)), sinceSecondsAgo: (ago * 10).rounded() / 10)
        }
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// The probed paths for the control socket. Caller holds `lock`.
    func pathReports(now: Timestamp) -> [PathReport] {
        let source = controller.pathProbeSource?.description ?? ""
        return controller.pathStatuses(now: now).map { path in
            PathReport(
                subnet: path.subnet.description, target: path.target.description, source: source, via: path.via,
                up: path.up, rttP50Milliseconds: path.statistics?.p50.finite,
                rttP95Milliseconds: path.statistics?.p95.finite, rttP99Milliseconds: path.statistics?.p99.finite,
                lossRatio: path.statistics?.loss)
        }
    }

    /// Health and path metrics. Caller holds `lock`.
    func refreshHealthMetrics(now: Timestamp) {
        var counts: [String: (severity: String, count: Int)] = [:]
        for problem in controller.health.problems {
            let kind = problem.kind.rawValue
            let worst = max(
                problem.severity, HealthProblem.Severity(rawValue: counts[kind]?.severity ?? "") ?? .warning)
            counts[kind] = (worst.rawValue, (counts[kind]?.count ?? 0) + 1)
        }
        let status = controller.health.worst.map { $0 == .critical ? 2 : 1 } ?? 0
        metrics.setHealth(
            counts: counts, allKinds: HealthProblem.Kind.allCases.map { ($0.rawValue, $0.usualSeverity.rawValue) },
            status: status)
        // Every switch from 0, so the first switch-off is an increase Prometheus can see.
        for name in controller.kernelObservation?.forwarding.keys.sorted() ?? [] {
            metrics.setForwardingDisabledTotal(switch: name, total: controller.forwardingSwitchedOff[name] ?? 0)
        }
        metrics.setRulesetChangesTotal(controller.rulesetDriftTotal)
        var probed: Set<String> = []
        for path in controller.pathStatuses(now: now) {
            let key = "\(path.subnet)\u{0}\(path.target)"
            probed.insert(key)
            metrics.setPath(
                subnet: path.subnet.description, target: path.target.description, up: path.up,
                loss: path.statistics?.loss)
        }
        for (subnet, seconds) in controller.takeNewPathRTTs() {
            metrics.observePathRTT(subnet: subnet, seconds: seconds)
        }
        for key in exportedPaths.subtracting(probed) {
            let parts = key.split(separator: "\u{0}").map(String.init)
            if parts.count == 2 { metrics.removePath(subnet: parts[0], target: parts[1]) }
        }
        exportedPaths = probed
    }
}
