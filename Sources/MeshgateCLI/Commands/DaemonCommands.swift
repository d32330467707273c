import ArgumentParser
import ControlProtocol
import Foundation

/// Options every command that talks to the daemon shares.
struct DaemonOptions: ParsableArguments {
    @Option(
        help:
            "The daemon's control socket (default: $\(ControlProtocol.socketEnvironmentVariable), else \(ControlProtocol.defaultSocketPath))."
    )
    var socket: String =
        ProcessInfo.processInfo.environment[ControlProtocol.socketEnvironmentVariable]
        ?? ControlProtocol.defaultSocketPath

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    /// Sends `request`; prints JSON or hands the response to `human`, and returns it. A daemon-side error
    /// exits 1.
    @discardableResult
    func run(_ request: ControlRequest, human: (ControlResponse) -> Void) throws -> ControlResponse {
        let response: ControlResponse
        do {
            response = try ControlClient.send(request, socketPath: socket)
        } catch {
            if json {
                print(ControlProtocol.jsonOutput(ControlResponse.failure("\(error)")))
            } else {
                printError("meshgate: \(error)")
            }
            throw ExitCode.failure
        }
        if json {
            print(ControlProtocol.jsonOutput(response))
        } else if response.ok || response.drill != nil {
            // A failed drill still has its figures to show.
            human(response)
        }
        if !response.ok {
            if !json { printError("meshgate: \(response.error ?? "the daemon refused the request")") }
            throw ExitCode.failure
        }
        return response
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show this gateway's overlay, HA roles, peers and routes.")
    @OptionGroup var options: DaemonOptions

    func run() throws {
        try options.run(.status) { response in
            guard let s = response.status else { return }
            print(HumanOutput.status(s))
        }
    }
}

struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the subnets in the mesh and where each is routed.")
    @OptionGroup var options: DaemonOptions

    func run() throws {
        try options.run(.routes) { response in print(HumanOutput.routes(response.routes ?? [])) }
    }
}

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the other gateways: tunnel state, traffic and probe RTT/loss.")
    @OptionGroup var options: DaemonOptions

    func run() throws {
        try options.run(.peers) { response in print(HumanOutput.peers(response.peers ?? [])) }
    }
}

struct Drill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a failure drill and report convergence time and probe loss.",
        subcommands: [DrillFailover.self, DrillWithdraw.self, DrillRelay.self, DrillKeyRotation.self])

    /// Without a drill to run, this is a usage error (exit 64), not a success.
    func run() throws {
        throw ValidationError(
            "name the drill to run: failover, withdraw, relay or key-rotation (see meshgate drill --help)")
    }
}

struct DrillFailover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Step the group's primary down, measure how the mesh converges, then restore it.")
    @OptionGroup var options: DaemonOptions
    @Option(help: "The HA group to drill.") var group: String
    @Flag(help: "Leave the standby as primary afterwards.") var noRestore = false
    @Option(
        help: ArgumentHelp(
            "Fail (exit 1) when more than this percentage of the LAN-to-LAN probes is lost.",
            discussion:
                "Probes go every 5 ms from 0.3 s before the step-down until 1 s after the new primary is elected, so a 0.4 s outage loses about a quarter of them."
        ))
    var maxLoss: Double = 50

    func validate() throws {
        guard (0...100).contains(maxLoss) else { throw ValidationError("--max-loss is a percentage, 0-100") }
    }

    func run() throws {
        try options.run(.drillFailover(group: group, restore: !noRestore, maxLossPercent: maxLoss)) { response in
            if let d = response.drill { print(HumanOutput.drill(d)) }
        }
    }
}

struct DrillWithdraw: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw", abstract: "Withdraw one of this gateway's subnets briefly and measure convergence.")
    @OptionGroup var options: DaemonOptions
    @Option(help: "The subnet to withdraw (one this gateway advertises).") var subnet: String
    @Option(
        help:
            "Keep it withdrawn this many seconds (0-300) before advertising it again, to watch the mesh (and the alerts) without it."
    )
    var hold: Int = 0

    func validate() throws {
        guard (0...300).contains(hold) else { throw ValidationError("--hold is 0-300 seconds") }
    }

    func run() throws {
        try options.run(.drillWithdraw(prefix: subnet, holdSeconds: hold)) { response in
            if let d = response.drill { print(HumanOutput.drill(d)) }
        }
    }
}

struct DrillRelay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Block the direct path to a peer, measure the switch to a relay and the outage, then unblock.",
        discussion: """
            Drops UDP to and from the peer's WireGuard endpoint (table inet meshgate_drill, removed afterwards) \
            while the peer probes a host on this gateway's LAN every 5 ms from its LAN side. Reports the \
            relay that took over and how soon, the LAN-to-LAN outage, the RTT through the relay, and whether \
            traffic returned to the direct path after the unblock. Run it on a primary (or lone gateway).
            """)
    @OptionGroup var options: DaemonOptions
    @Option(help: "The peer whose direct path to block (a gateway some subnet routes through).") var peer: String
    @Option(help: "How long to block it, 1-8 seconds.") var seconds: Int = 4

    func validate() throws {
        guard (1...8).contains(seconds) else { throw ValidationError("--seconds is 1-8") }
    }

    func run() throws {
        try options.run(.drillRelay(peer: peer, seconds: seconds)) { response in
            if let d = response.drill { print(HumanOutput.drill(d)) }
        }
    }
}

struct DrillKeyRotation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key-rotation",
        abstract: "Rotate this gateway's key while probing, and report the interruption (see rotate-key).")
    @OptionGroup var options: DaemonOptions

    func run() throws {
        try options.run(.drillKeyRotation) { response in
            if let d = response.drill { print(HumanOutput.drill(d)) }
        }
    }
}

struct RotateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Replace this gateway's private key without dropping traffic.",
        discussion: """
            The daemon announces the new public key to every peer through the tunnel, waits until each peer \
            with a live tunnel acknowledged it, then switches keys keeping established sessions. The new key is \
            written and synced next to node.private_key_file first (an unwritable directory refuses the \
            rotation and changes nothing) and renamed over it before the switch. Update public_key in the \
            shared peer list afterwards.
            """)
    @OptionGroup var options: DaemonOptions

    func run() throws {
        try options.run(.rotateKey) { response in print(response.message ?? "key rotated") }
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the config file and apply the difference (like SIGHUP).",
        discussion: """
            Peers, advertised subnets, HA priority/preemption and timers change without touching the tunnels \
            of unchanged peers. An invalid file, or a change that needs a restart (node, overlay, control \
            socket, HA group or LAN), is refused with the reason and the running configuration stays.
            """)
    @OptionGroup var options: DaemonOptions

    func run() throws {
        try options.run(.reload) { response in print(response.message ?? "reloaded") }
    }
}
