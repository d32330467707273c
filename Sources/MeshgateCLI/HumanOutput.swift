import ControlProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Text renderings of daemon responses for people; `--json` prints the responses themselves.
enum HumanOutput {
    static func status(_ s: StatusReport) -> String {
        var lines = [
            "node:        \(s.node) (meshgated \(s.version), up \(duration(s.uptimeSeconds)))",
            "overlay:     \(s.overlayInterface) \(s.overlayAddress) mtu \(s.mtu), listening on udp/\(s.listenPort)",
            "public key:  \(s.publicKey)",
            "advertises:  \(s.advertised.isEmpty ? "-" : s.advertised.joined(separator: ", "))",
            "forwarding:  "
                + s.forwarding.keys.sorted().map { "\($0) \(s.forwarding[$0]! ? "on" : "OFF")" }
                .joined(separator: ", ") + "; MSS clamp \(s.mssClamp ? "on" : "OFF")",
            "peers:       \(s.peersUp)/\(s.peersTotal) up; \(s.routesInstalled) routes installed",
            "policy:      \(s.policy ?? "none — all traffic between sites allowed")",
            "firewall:    \(s.firewall == true ? "on (input default drop)" : "off")",
        ]
        for g in s.groups {
            lines.append(
                "ha group \(g.group): \(g.role) (primary \(g.primary ?? "none"), term \(g.term)); LAN \(g.lanHealthy ? "healthy" : "DOWN")"
                    + (g.virtualIP.map { "; virtual IP \($0)" } ?? "")
                    + "; members \(g.members.joined(separator: ", "))")
        }
        lines.append("")
        lines.append(problems(s.problems ?? []))
        return lines.joined(separator: "\n")
    }

    /// The health section: `Health: OK`, or one entry per problem, worst first, like tailscale's warnings.
    static func problems(_ problems: [ProblemReport]) -> String {
        guard !problems.isEmpty else { return "Health: OK (no problems)" }
        let worst = problems.contains { $0.severity == "critical" } ? "CRITICAL" : "WARNING"
        var lines = ["Health: \(worst), \(problems.count) problem\(problems.count == 1 ? "" : "s"):"]
        for p in problems {
            lines.append(
                "  - \(p.severity.uppercased()) \(p.kind) \(p.subject) (since \(p.since), \(duration(p.sinceSecondsAgo)) ago)"
            )
            lines.append("      \(p.message)")
            lines.append("      hint: \(p.hint)")
        }
        return lines.joined(separator: "\n")
    }

    static func path(_ p: PathReport?) -> String {
        guard let p else { return "-" }
        guard p.up else { return "DOWN (\(p.target))" }
        let rtt = [p.rttP50Milliseconds, p.rttP95Milliseconds, p.rttP99Milliseconds]
            .map { $0.map { format($0, 2) } ?? "-" }.joined(separator: "/")
        return "up \(rtt) ms, loss \(p.lossRatio.map { format($0 * 100, 1) + "%" } ?? "-") (\(p.target))"
    }

    static func ping(_ p: PingReport) -> String {
        var lines = [
            "path:    \(p.source) -> \(p.target) via route \(p.route ?? "none") to \(p.via ?? "-")"
                + "; tunnel \(p.tunnelUp ? "up" : "DOWN")"
                + (p.lastHandshakeSecondsAgo.map { " (handshake \(Int($0))s ago)" } ?? "")
        ]
        for (i, rtt) in p.rttMilliseconds.enumerated() {
            lines.append(rtt.map { "probe \(i + 1): \(format($0, 2)) ms" } ?? "probe \(i + 1): timeout")
        }
        let loss = p.sent == 0 ? 0 : Double(p.sent - p.received) / Double(p.sent) * 100
        lines.append("\(p.sent) sent, \(p.received) received, \(format(loss, 1))% loss")
        return lines.joined(separator: "\n")
    }

    static func explain(_ e: ExplainReport) -> String {
        // The far gateway wrote part of this: no control characters reach the terminal.
        func clean(_ text: String) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }))
        }
        var rows = [["AT", "CHECK", "RESULT", "DETAIL"]]
        for hop in e.hops {
            rows.append([clean(hop.at), clean(hop.check), hop.ok ? "ok" : "FAIL", clean(hop.detail)])
        }
        return "\(e.source) -> \(e.destination)\n" + table(rows) + "\n"
            + (e.verdict.map { "verdict: \(clean($0))" } ?? "verdict: every hop passes")
    }

    static func routes(_ routes: [RouteReport]) -> String {
        var rows = [["SUBNET", "VIA", "GROUP", "ADVERTISED BY", "STATE", "PATH (RTT p50/p95/p99)"]]
        for r in routes {
            let state = r.local ? "local" : (r.installed ? "installed" : (r.via == nil ? "NO PRIMARY" : "pending"))
            rows.append([
                r.subnet, r.via ?? "-", r.group ?? "-", r.advertisers.joined(separator: ","), state, path(r.path),
            ])
        }
        return table(rows)
    }

    static func peers(_ peers: [PeerReport]) -> String {
        var rows = [
            [
                "PEER", "OVERLAY", "ENDPOINT", "STATE", "HANDSHAKE", "RX", "TX", "RTT p50/p95/p99 ms", "LOSS", "VIA",
                "PATHS",
            ]
        ]
        for p in peers {
            let rtt = [p.rttP50Milliseconds, p.rttP95Milliseconds, p.rttP99Milliseconds]
                .map { $0.map { format($0, 2) } ?? "-" }.joined(separator: "/")
            rows.append([
                p.name, p.overlayAddress, p.endpoint ?? "-", p.up ? "up" : "DOWN",
                p.lastHandshakeSecondsAgo.map { "\(Int($0))s ago" } ?? "never", bytes(p.receivedBytes),
                bytes(p.transmittedBytes), rtt, p.probeLossRatio.map { format($0 * 100, 1) + "%" } ?? "-",
                via(p),
                (p.paths ?? []).map { "\($0.subnet) \($0.up ? "up" : "DOWN")" }.joined(separator: ", "),
            ])
        }
        return table(rows)
    }

    /// `direct`, `direct (link down)` or `gw-x (relay, 12.3 ms)`.
    static func via(_ p: PeerReport) -> String {
        guard let relay = p.via else { return p.directLink == false ? "direct (link down)" : "direct" }
        return "\(relay) (relay\(p.relayedRTTMilliseconds.map { ", " + format($0, 1) + " ms" } ?? ""))"
    }

    static func drill(_ d: DrillReport) -> String {
        var lines = ["drill:        \(d.kind)"]
        if let g = d.group { lines.append("group:        \(g)") }
        if let s = d.subnet { lines.append("subnet:       \(s)") }
        if let p = d.peer { lines.append("peer:         \(p)") }
        if d.kind == "relay" { lines.append("relay:        \(d.via ?? "none")") }
        if let r = d.relayedRTTMilliseconds { lines.append("relayed RTT:  \(format(r, 1)) ms") }
        if let f = d.fromPrimary, let t = d.toPrimary { lines.append("primary:      \(f) -> \(t)") }
        lines.append(
            "converged in: "
                + (d.convergenceMilliseconds.map { "\(format($0, 1)) ms" } ?? "TIMED OUT (did not converge)"))
        lines.append(
            "probes:       \(d.probesSent) sent, \(d.probesLost) lost, longest gap \(format(d.longestGapMilliseconds, 1)) ms"
        )
        lines.append("restored:     \(d.restored ? "yes" : "no")")
        if let passed = d.passed {
            lines.append("result:       \(passed ? "PASS" : "FAIL")\(d.verdict.map { ": \($0)" } ?? "")")
        }
        for n in d.notes { lines.append("note:         \(n)") }
        return lines.joined(separator: "\n")
    }

    static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 2) }
                .joined()
        }.joined(separator: "\n")
    }

    static func format(_ v: Double, _ decimals: Int) -> String {
        var p = 1.0
        for _ in 0..<decimals { p *= 10 }
        let r = (v * p).rounded() / p
        return decimals == 0 ? String(Int(r)) : String(r)
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(n) B" : "\(format(v, 2)) \(units[i])"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        return "\(s / 3600)h\((s % 3600) / 60)m"
    }
}

extension String {
    func padding(toLength n: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}
