import CryptoPrimitives
import Dataplane
import GatewayController
import Logging
import NetworkTypes
import Policy
import Routing
import Synchronization
import WireGuard

/// What the driver last applied to the engine and the kernel: the other side of every diff.
struct AppliedState {
    /// The peers as last applied, by name (a peer's key follows announced rotations).
    var peers: [String: PeerIntent] = [:]
    /// The allowed IPs last given to the engine, prefix → peer name.
    var allowedIPs: [IPPrefix: String] = [:]
    /// The routes last synced and their table and metric; nil before the first sync.
    var routes: RoutesApplied?
    /// The virtual IP we hold, and when its lifetime was last refreshed.
    var virtualIP: Intent.VirtualIP?
    var virtualIPRefreshedAt = Timestamp.zero
    /// When the ARP lease of the held virtual IP was last renewed (zero: renew at the next sync).
    var virtualIPLeaseRenewedAt = Timestamp.zero
    var ruleset: Ruleset?
    /// The ``Intent/generation`` whose peers and routes were last synced (nil: none yet, or a retry is due).
    var generation: UInt64?

    struct RoutesApplied: Equatable {
        var learned: Set<IPPrefix>
        var peers: Set<IPAddress>
        var table: UInt32
        var metric: UInt32
        var keepStale: Bool
    }
}

// MARK: - Intent → engine and kernel, by difference

extension Gateway {
    /// The virtual IP's lifetime is refreshed this often while we hold it (see ``KernelState/virtualIPLifetime``).
    static let virtualIPRefreshInterval: Duration = .milliseconds(500)

    /// Makes the engine and the kernel hold `intent`, changing only what differs from what was applied.
    /// A kernel failure is kept in ``kernelFeedback`` for the next step and retried then. Caller holds `lock`.
    func syncIntent(_ intent: Intent) {
        var failures: [String] = []
        // Peers and routes grow with the mesh: diffed only when their generation moved (or a retry is due),
        // so a step at rest costs the same with 10 or 10,000 routes.
        let peersAndRoutesChanged = intent.generation != applied.generation || controller.kernelSyncFailure != nil
        if peersAndRoutesChanged { syncEngine(intent) }
        let targetChanged =
            applied.routes.map {
                $0.table != intent.routeTable || $0.metric != intent.routeMetric
                    || $0.keepStale != intent.keepStaleRoutes
            } ?? true
        var routesSynced = true
        if peersAndRoutesChanged || targetChanged {
            let routes = AppliedState.RoutesApplied(
                learned: Set(intent.routes.keys), peers: Set(intent.peers.values.map(\.overlayAddress)),
                table: intent.routeTable, metric: intent.routeMetric, keepStale: intent.keepStaleRoutes)
            routesSynced = syncRoutes(routes, failures: &failures)
        }
        applied.generation = routesSynced ? intent.generation : nil
        syncVirtualIPAndRuleset(intent, failures: &failures)
    }

    /// Routes towards `routes` if they differ from what was applied (or the last sync failed); false on failure.
    private func syncRoutes(_ routes: AppliedState.RoutesApplied, failures: inout [String]) -> Bool {
        if routes != applied.routes || controller.kernelSyncFailure != nil {
            kernel.setRouteTarget(table: routes.table, metric: routes.metric)
            do {
                try kernel.syncRoutes(
                    learned: routes.learned, peers: Array(routes.peers), keepingStale: routes.keepStale)
                applied.routes = routes
            } catch {
                applied.routes = nil
                failures.append("routes: \(error)")
                return false
            }
        }
        return true
    }

    /// The virtual IP and the nftables tables towards `intent`; reports the step's failures back.
    private func syncVirtualIPAndRuleset(_ intent: Intent, failures: inout [String]) {
        let now = Gateway.now()
        if intent.virtualIP != applied.virtualIP
            || (intent.virtualIP != nil
                && now.duration(since: applied.virtualIPRefreshedAt) >= Gateway.virtualIPRefreshInterval)
        {
            // A new lease length (timers reloaded) is only renewed: the address stays.
            if let old = applied.virtualIP,
                old.prefix != intent.virtualIP?.prefix || old.interface != intent.virtualIP?.interface
            {
                kernel.releaseVirtualIP(old.prefix, on: old.interface)
                applied.virtualIP = nil
                applied.virtualIPLeaseRenewedAt = .zero
            }
            if let vip = intent.virtualIP {
                do {
                    try kernel.holdVirtualIP(vip.prefix, on: vip.interface, announce: false)
                    applied.virtualIP = vip
                    applied.virtualIPRefreshedAt = now
                } catch {
                    failures.append("virtual IP \(vip.prefix): \(error)")
                }
            }
        }
        if intent.ruleset != applied.ruleset {
            do {
                let table = intent.ruleset
                if table.mssClamp != applied.ruleset?.mssClamp || table.policy != applied.ruleset?.policy
                    || table.firewall != applied.ruleset?.firewall || table.relayed != applied.ruleset?.relayed
                    || applied.ruleset == nil
                {
                    if let clamp = table.mssClamp {
                        let started = ContinuousClock.now
                        try kernel.installRuleset(
                            clamp: clamp, policy: table.policy, firewall: table.firewall, relayed: table.relayed,
                            wireGuardPort: device.listenPort)
                        if let policy = table.policy, policy != applied.ruleset?.policy {
                            let (seconds, attoseconds) = (ContinuousClock.now - started).components
                            let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
                            logger.notice(
                                "policy sha256 \(policy.shortDigest) in the kernel: table inet meshgate replaced in one transaction in \(milliseconds) ms"
                            )
                        }
                    } else {
                        kernel.removeMSSClamp()
                    }
                }
                if intent.ruleset.virtualIPGuard != applied.ruleset?.virtualIPGuard || applied.ruleset == nil {
                    if let address = intent.ruleset.virtualIPGuard {
                        try kernel.installVirtualIPGuard(address)
                        // A new table has no lease in it: renew below if we hold the VIP.
                        applied.virtualIPLeaseRenewedAt = .zero
                    } else {
                        kernel.removeVirtualIPGuard()
                    }
                }
                applied.ruleset = intent.ruleset
            } catch {
                failures.append("nftables: \(error)")
            }
        }
        // The ARP lease, after the table exists: renewed on each step at least half a hello interval after
        // the last (so about every hello, four times within one lease) while we hold the VIP.
        if let vip = applied.virtualIP, vip == intent.virtualIP, kernel.hasVirtualIPGuard,
            now.duration(since: applied.virtualIPLeaseRenewedAt) >= vip.leaseRenewal / 2
        {
            do {
                try kernel.renewVirtualIPLease(for: vip.lease)
                applied.virtualIPLeaseRenewedAt = now
            } catch {
                failures.append("virtual IP lease: \(error)")
            }
        }
        let failure = failures.isEmpty ? nil : failures.joined(separator: "; ")
        if failure != nil || controller.kernelSyncFailure != nil { kernelFeedback = .some(failure) }
    }

    /// Peers added, removed, re-keyed or changed, then allowed IPs by difference
    /// (``AllowedIPsChange``), in one hold of the engine's lock.
    private func syncEngine(_ intent: Intent) {
        guard intent.peers != applied.peers else { return }
        let moment = Device.now()
        var recreated: Set<String> = []
        device.engine.withLock { engine in
            for (name, old) in applied.peers {
                let new = intent.peers[name]
                if new == nil || new?.publicKey != old.publicKey {
                    // A changed key for a name is a new identity: its sessions must not carry over.
                    engine.removePeer(publicKey: old.publicKey)
                    recreated.insert(name)
                }
            }
            for (name, peer) in intent.peers {
                let old = applied.peers[name]
                let fresh = old == nil || old?.publicKey != peer.publicKey
                if fresh { recreated.insert(name) }
                guard fresh || old != peer, let handle = engine.addPeer(publicKey: peer.publicKey) else { continue }
                if let endpoint = peer.endpoint, fresh || old?.endpoint != peer.endpoint {
                    engine.setEndpoint(endpoint, for: handle)
                }
                if fresh || old?.persistentKeepaliveSeconds != peer.persistentKeepaliveSeconds {
                    engine.setPersistentKeepalive(peer.persistentKeepaliveSeconds, for: handle, now: moment)
                }
                if let path = peer.presharedKeyFile, fresh || old?.presharedKeyFile != path,
                    let psk = Gateway.readKey(path: path)
                {
                    engine.setPresharedKey(psk, for: handle)
                }
            }
            var wanted: [IPPrefix: String] = [:]
            for (name, peer) in intent.peers {
                for prefix in peer.allowedIPs { wanted[prefix] = name }
            }
            let current = applied.allowedIPs.filter { !recreated.contains($0.value) }
            let change = AllowedIPsChange(from: current, to: wanted)
            for prefix in change.removed { engine.removeAllowedIP(prefix) }
            for (prefix, name) in change.assigned {
                guard let key = intent.peers[name]?.publicKey, let handle = engine.peer(publicKey: key) else {
                    continue
                }
                engine.addAllowedIP(prefix, for: handle)
            }
            applied.allowedIPs = wanted
        }
        applied.peers = intent.peers
        // Keepalives or handshakes the changes queued go out now, not at the engine's next timer.
        device.nudgeTimers()
    }
}
