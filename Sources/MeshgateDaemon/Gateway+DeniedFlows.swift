import LinuxSystem
import Logging
import NFTables
import NetworkTypes
import Policy
import Synchronization

// Denied flows, as audit events: the kernel copies dropped packets (at most 5 a second per chain, see
// PolicyRuleset.deniedLogsPerSecond) to an NFLOG group; this thread turns each into a `flow_denied` record
// with source, destination, protocol, port and the rule that decided (the default deny).

extension Gateway {
    /// Subscribes to the table's NFLOG group and starts the reader; a failure is logged, not fatal (the
    /// counters still count every drop).
    func startDeniedFlowAudit() {
        let subscription: DeniedPacketLog
        do {
            subscription = try DeniedPacketLog(group: KernelState.deniedLogGroup)
        } catch {
            logger.warning("denied flows will be counted but not audited: \(error)")
            return
        }
        deniedFlowThread = OSThread(name: "mg-nflog") { [self] in
            while !deniedFlowStop.load(ordering: .acquiring) {
                guard let packets = try? subscription.receive(timeoutMilliseconds: 500) else { continue }
                for packet in packets { recordDenied(packet) }
            }
        }
    }

    func stopDeniedFlowAudit() {
        deniedFlowStop.store(true, ordering: .releasing)
        deniedFlowThread?.join()
        deniedFlowThread = nil
    }

    private func recordDenied(_ packet: DeniedPacket) {
        let chain = packet.prefix == GatewayFirewall.denyLogPrefix ? "input" : "forward"
        var fields: [String: any Sendable] = [
            "chain": chain, "src": packet.source.description, "dst": packet.destination.description,
            "proto": Policy.protocolName(packet.protocolNumber), "rule": "default-deny",
        ]
        if let port = packet.port { fields["port"] = Int(port) }
        audit.record("flow_denied", fields)
    }
}
