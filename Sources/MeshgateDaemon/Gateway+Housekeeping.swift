import Dataplane
import Foundation
import GatewayConfig
import Logging
import NetworkTypes
import Routing
import Synchronization
import WireGuard

// MARK: - Once a second: peer liveness, key expiry, handshake-failure summaries

extension Gateway {
    /// Warn this long before a peer's key expires.
    static let keyExpiryWarning: Duration = .seconds(7 * 24 * 3600)

    /// Caller holds `lock`.
    func housekeeping(now: Timestamp) {
        let wallNow = Int64(Date().timeIntervalSince1970)
        let snapshot = device.snapshot()
        for peer in config.peers where peer.name != config.node.name {
            let key = peerKeys[peer.name] ?? peer.publicKey
            let s = snapshot.peers.first { $0.publicKey == key }
            // Up: a session younger than reject-after-time and the peer still answers probes — so a dead
            // gateway shows as down within seconds, not after the session expires.
            let session = s.map { $0.lastHandshakeSeconds > 0 && wallNow - $0.lastHandshakeSeconds < 180 } ?? false
            let up = session && !keyExpiryEnforced.contains(peer.name) && probes.isResponsive(peer.name, now: now)
            if up && !peersUp.contains(peer.name) {
                peersUp.insert(peer.name)
                audit.record("peer_joined", ["peer": peer.name, "endpoint": s?.endpoint?.description ?? ""])
            } else if !up && peersUp.contains(peer.name) {
                peersUp.remove(peer.name)
                let reason =
                    keyExpiryEnforced.contains(peer.name)
                    ? "key expired" : (session ? "no answer to probes for 5 s" : "no handshake for 180 s")
                audit.record("peer_left", ["peer": peer.name, "reason": reason])
            }
            guard let expiry = peer.keyExpires, !keyExpiryEnforced.contains(peer.name) else { continue }
            if expiry.isExpired(atSecondsSince1970: wallNow) {
                // Stop accepting the key: the peer leaves the engine, so its handshakes no longer match.
                keyExpiryEnforced.insert(peer.name)
                device.engine.withLock { $0.removePeer(publicKey: key) }
                nextHops = nextHops.filter { $0.value != peer.name }
                logger.error(
                    "key of peer \(peer.name) expired at \(expiry); no longer accepted (update key_expires and public_key, then reload)"
                )
                audit.record("key_expired", ["peer": peer.name, "expired": expiry.text])
            } else if expiry.secondsSince1970 - wallNow < Int64(Gateway.keyExpiryWarning.components.seconds),
                keyExpiryWarnedAt[peer.name].map({ now.duration(since: $0) >= .seconds(3600) }) ?? true
            {
                keyExpiryWarnedAt[peer.name] = now
                let days = Double(expiry.secondsSince1970 - wallNow) / 86400
                logger.warning(
                    "key of peer \(peer.name) expires at \(expiry) (in \(String(format: "%.1f", days)) days)")
                audit.record("key_expiring", ["peer": peer.name, "expires": expiry.text, "days_left": days])
            }
        }
        refreshMetrics(now: now, snapshot: snapshot)
        if !refusedHandshakes.isEmpty, now.duration(since: lastRefusalSummaryAt) >= .seconds(10) {
            lastRefusalSummaryAt = now
            // One line per reason per 10 s, so a flood of garbage cannot flood the audit log.
            for (reason, count) in refusedHandshakes.sorted(by: { $0.key < $1.key }) {
                audit.record("handshake_failed", ["reason": reason, "count": count])
            }
            refusedHandshakes.removeAll()
        }
    }

    /// Logs and audits a route-table change. Caller holds `lock`.
    func noteRouteChange(_ change: RouteChange) {
        logger.info("route \(change)")
        switch change {
        case .added(let prefix, let gateway, let group):
            audit.record(
                "route_advertised", ["subnet": prefix.description, "gateway": gateway, "group": group ?? ""])
        case .removed(let prefix, let gateway, let reason):
            audit.record(
                "route_withdrawn", ["subnet": prefix.description, "gateway": gateway, "reason": reason.rawValue])
        case .rejected(let prefix, let gateway, let reason):
            logger.warning("route \(change)")
            audit.record("route_rejected", ["subnet": prefix.description, "gateway": gateway, "reason": reason])
        case .moreRejected(let gateway, let count):
            logger.warning("route \(change)")
            audit.record("route_rejected", ["gateway": gateway, "count": count, "reason": "more refused prefixes"])
        case .limitExceeded(let gateway, let advertised, let limit):
            logger.warning("route \(change)")
            audit.record(
                "route_rejected",
                [
                    "gateway": gateway, "advertised": advertised, "limit": limit,
                    "reason": "over limits.max_routes_per_peer",
                ])
        default:
            break
        }
    }
}
