import ArgumentParser
import ControlProtocol
import Foundation

/// `meshgate health`: the problems, with the monitoring-plugin exit status (0 OK, 1 WARNING, 2 CRITICAL,
/// 3 UNKNOWN), so Nagios, Icinga, Sensu or a systemd timer can run it as it is.
struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print this gateway's health problems; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        discussion: """
            The verdict follows what packets do: forwarding switched off, end-to-end paths down while their \
            tunnel is up, route conflicts, expired or expiring keys, peers that stopped answering, several \
            primaries in a group, meshgate's nftables table changed under it, failover flaps, withdrawn \
            subnets. The exit status is the monitoring-plugin convention; 3 means the daemon could not be asked.
            """)
    @OptionGroup var options: DaemonOptions

    static let unknown: Int32 = 3

    func run() throws {
        let response: ControlResponse
        do {
            response = try ControlClient.send(.status, socketPath: options.socket)
        } catch {
            if options.json {
                print(ControlProtocol.jsonOutput(ControlResponse.failure("\(error)")))
            } else {
                print("UNKNOWN: cannot ask meshgated: \(error)")
            }
            throw ExitCode(Self.unknown)
        }
        guard response.ok, let status = response.status else {
            print("UNKNOWN: \(response.error ?? "no status in the daemon's answer")")
            throw ExitCode(Self.unknown)
        }
        let problems = status.problems ?? []
        if options.json {
            print(
                ControlProtocol.jsonOutput(
                    HealthOutput(node: status.node, health: status.health ?? "ok", problems: problems)))
        } else {
            print(
                HumanOutput.problems(problems).replacingOccurrences(
                    of: "Health: ", with: "\(status.node): ", options: .anchored))
        }
        switch status.health {
        case "critical": throw ExitCode(2)
        case "warning": throw ExitCode(1)
        default: return
        }
    }

    struct HealthOutput: Encodable {
        var node: String
        var health: String
        var problems: [ProblemReport]
    }
}

struct Ping: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe an address behind any region along the mesh path, and show that path.",
        discussion: """
            Prints the route the target falls in, the next-hop gateway and the tunnel's state, then the RTT of \
            each ICMP echo sent from this gateway's LAN-side address. Exits 1 when no probe was answered.
            """)
    @OptionGroup var options: DaemonOptions
    @Argument(help: "An address behind a remote region (or a gateway's overlay address).") var target: String
    @Option(name: .shortAndLong, help: "Probes to send, 1-100.") var count = 5

    func validate() throws {
        guard (1...100).contains(count) else { throw ValidationError("--count must be 1-100") }
    }

    func run() throws {
        let response = try options.run(.ping(target: target, count: count)) { response in
            if let report = response.ping { print(HumanOutput.ping(report)) }
        }
        if (response.ping?.received ?? 0) == 0 { throw ExitCode.failure }
    }
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain hop by hop what the mesh does with a packet from SRC to DST, and where it fails.",
        discussion: """
            Checks this region's side (route, next hop, forwarding, policy), the tunnel, and asks the far \
            gateway over the overlay for its side (its route to DST, its forwarding switches, foreign nftables \
            chains on its forward hook, its route back to SRC, its policy). Exits 1 when a hop fails.
            """)
    @OptionGroup var options: DaemonOptions
    @Argument(help: "The source address (a host in this region, or a gateway address).") var source: String
    @Argument(help: "The destination address (a host behind another region).") var destination: String
    @Argument(help: "Optional PORT/PROTO, e.g. 443/tcp, for the policy verdict.") var portProto: String?

    func run() throws {
        var port: Int?
        var proto: String?
        if let portProto {
            let parts = portProto.split(separator: "/").map(String.init)
            guard parts.count == 2, let number = Int(parts[0]), (0...65535).contains(number),
                ["tcp", "udp"].contains(parts[1].lowercased())
            else { throw ValidationError("PORT/PROTO is like 443/tcp or 53/udp") }
            port = number
            proto = parts[1].lowercased()
        }
        let response = try options.run(.explain(source: source, destination: destination, port: port, proto: proto)) {
            if let report = $0.explain { print(HumanOutput.explain(report)) }
        }
        if response.explain?.verdict != nil { throw ExitCode.failure }
    }
}
