public import ControlProtocol
import Foundation
import GatewayConfig
import GatewayController
import LinuxSystem
import Logging
import Routing
import Telemetry

// MARK: - Live reload (SIGHUP or `meshgate reload`)

extension Gateway {
    /// Re-reads the config file and hands it to the controller, which applies the difference (peers
    /// added, removed or changed, advertised subnets, HA priority and preemption, timers, limits, the
    /// kernel route table and metric) or refuses a change that needs a restart. Tunnels of unchanged
    /// peers are not touched. An invalid file changes nothing.
    public func reload() -> ControlResponse {
        guard let path = configPath else { return .failure("no config file to reload from") }
        let new: GatewayConfiguration
        do {
            new = try ConfigLoader.parse(path: path)
            try ConfigLoader.validatePresharedKeyFiles(new, path: path)
        } catch {
            logger.error("reload refused: \(error)")
            audit.record("config_rejected", ["reason": "\(error)"])
            return .failure("reload refused, running configuration unchanged:\n\(error)")
        }
        let lan = new.ha.map { kernel.connectedPrefixes(on: $0.lan.interface) } ?? []
        let (result, removed) = lock.withLock {
            let before = Set(controller.config.peers.map(\.name))
            let result = drive([.reload(new, connectedLAN: lan)], now: Gateway.now()).results.first ?? .unchanged
            return (result, before.subtracting(controller.config.peers.map(\.name)))
        }
        wakeEvent.signal()
        for name in removed { metrics.removePeer(name: name) }
        switch result {
        case .unchanged: return ControlResponse(message: "no changes")
        case .reloaded(let changes): return ControlResponse(message: "reloaded: \(changes)")
        case .refused(let reason): return .failure(reason)
        case .done: return ControlResponse(message: "reloaded")
        }
    }
}
