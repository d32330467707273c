public import ControlProtocol
import Dataplane
import Foundation
import GatewayConfig
import LinuxSystem
import Logging
import NetworkTypes
import Routing
import Synchronization
import Telemetry
import WireGuard

// MARK: - Live reload (SIGHUP or `meshgate reload`)

extension Gateway {
    /// Re-reads the config file and applies the difference: peers added, removed or changed, advertised
    /// subnets, HA priority and preemption, timers. Tunnels of unchanged peers are not touched. An invalid
    /// file, or a change that needs a restart (node, overlay, control socket, HA group or LAN), is refused
    /// and the running configuration stays in force.
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
        return lock.withLock { apply(new) }
    }

    /// Caller holds `lock`.
    private func apply(_ new: GatewayConfiguration) -> ControlResponse {
        let old = config
        let changes = diff(from: old, to: new)
        if changes.isEmpty { return ControlResponse(message: "no changes") }
        var restartNeeded = changes.requiresRestart
        if let a = old.ha, let b = new.ha, a.group != b.group || a.lan != b.lan { restartNeeded = true }
        if (old.ha == nil) != (new.ha == nil) { restartNeeded = true }
        if restartNeeded {
            let reason = "these changes need a restart: \(changes.description)"
            logger.error("reload refused: \(reason)")
            audit.record("config_rejected", ["reason": reason])
            return .failure("reload refused, running configuration unchanged: \(reason)")
        }
        let moment = Device.now()
        let oldPeers = Dictionary(uniqueKeysWithValues: old.peers.map { ($0.name, $0) })
        device.engine.withLock { engine in
            for name in changes.peersRemoved {
                guard let key = peerKeys[name] else { continue }
                engine.removePeer(publicKey: key)
            }
            for peer in new.peers where peer.name != new.node.name {
                let previous = oldPeers[peer.name]
                if previous == peer { continue }
                // A changed public key is a new identity for that name: replace it (new sessions follow) —
                // unless the peer already runs under that key (the list caught up with a rotate-key).
                if let previous, previous.publicKey != peer.publicKey, let current = peerKeys[peer.name],
                    current != peer.publicKey
                {
                    engine.removePeer(publicKey: current)
                }
                guard let handle = engine.addPeer(publicKey: peer.publicKey) else { continue }
                if let endpoint = peer.endpoint { engine.setEndpoint(endpoint, for: handle) }
                engine.setPersistentKeepalive(
                    UInt16(clamping: peer.persistentKeepalive?.components.seconds ?? 0), for: handle, now: moment)
                if let psk = peer.presharedKeyFile.flatMap({ Gateway.readKey(path: $0, key: "preshared_key_file") }) {
                    engine.setPresharedKey(psk, for: handle)
                }
                if previous?.overlayAddress != peer.overlayAddress || previous == nil {
                    engine.removeAllowedIPs(for: handle)
                    engine.addAllowedIP(
                        IPPrefix(address: peer.overlayAddress, length: peer.overlayAddress.isV4 ? 32 : 128)!,
                        for: handle)
                }
            }
        }
        for name in changes.peersRemoved {
            peerKeys.removeValue(forKey: name)
            if peersUp.remove(name) != nil {
                audit.record("peer_left", ["peer": name, "reason": "removed from the configuration"])
            }
            probes.forget(name)
            metrics.removePeer(name: name)
            for change in routeTable.withdraw(gateway: name) { noteRouteChange(change) }
        }
        for peer in new.peers where peer.name != new.node.name && oldPeers[peer.name]?.publicKey != peer.publicKey {
            peerKeys[peer.name] = peer.publicKey
            keyExpiryEnforced.remove(peer.name)
        }
        for peer in new.peers where oldPeers[peer.name]?.keyExpires != peer.keyExpires {
            keyExpiryEnforced.remove(peer.name)
            keyExpiryWarnedAt.removeValue(forKey: peer.name)
        }
        if var election, let ha = new.ha {
            election.configuration.priority = ha.priority
            election.configuration.preempt = ha.preempt
            election.configuration.preemptDelay = ha.preemptDelay
            election.configuration.stepDownHold = ha.stepDownHold
            election.configuration.deadInterval = new.timers.deadInterval
            election.configuration.members = new.members(of: ha.group)
            self.election = election
        }
        routeTable.expiry = new.timers.routeExpiry
        routeTable.policy = Gateway.routePolicy(
            for: new, connectedLAN: new.ha.map { kernel.connectedPrefixes(on: $0.lan.interface) } ?? [])
        replaceConfig(new)
        advertisedNow = new.advertise
        pendingTriggeredAdvert = true
        // Next hops through removed peers go; everything else stays installed while it is recomputed, so a
        // reload never takes a working route away, even for a moment.
        let removed = Set(changes.peersRemoved)
        nextHops = nextHops.filter { !removed.contains($0.value) && !new.advertise.contains($0.key) }
        // kernel.route_table and kernel.route_metric move our routes at this sync.
        kernel.setRouteTarget(table: new.kernel.routeTable, metric: new.kernel.routeMetric)
        do {
            try kernel.syncRoutes(learned: Set(nextHops.keys), peers: new.peers.map(\.overlayAddress))
        } catch {
            logger.error("kernel update after reload failed (retrying): \(error)")
            kernelRoutesDirty = true
        }
        // Peers added or changed may have a new engine entry, or lost their allowed IPs above: assign
        // theirs again.
        let touched = Set(new.peers.filter { oldPeers[$0.name] != $0 }.map(\.name))
        appliedAllowedIPs = appliedAllowedIPs.filter { !touched.contains($0.value) }
        applyAllowedIPs()
        recomputeRoutes(now: Gateway.now())
        logger.notice("configuration reloaded: \(changes.description)")
        audit.record("config_reloaded", ["diff": changes.description])
        return ControlResponse(message: "reloaded: \(changes.description)")
    }
}
