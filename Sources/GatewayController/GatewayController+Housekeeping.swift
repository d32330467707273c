import CryptoPrimitives
import GatewayConfig
import NetworkTypes
import Routing

// MARK: - Once a second: peer liveness, key expiry, handshake-failure summaries

extension GatewayController {
    mutating func housekeeping(now: Timestamp, out: inout Output) {
        guard let sessions else { return }
        let wallNow = sessions.wallSeconds
        for peer in otherPeers {
            let last = sessions.lastHandshake[peer.name] ?? 0
            // Up: a session younger than reject-after-time and the peer still answers probes — so a dead
            // gateway shows as down within seconds, not after the session expires.
            let session = last > 0 && wallNow - last < GatewayController.rejectAfterTimeSeconds
            let up = session && !keyExpiryEnforced.contains(peer.name) && probes.isResponsive(peer.name, now: now)
            if up && !peersUp.contains(peer.name) {
                peersUp.insert(peer.name)
                out.audit(
                    "peer_joined",
                    ["peer": .string(peer.name), "endpoint": .string(sessions.endpoints[peer.name] ?? "")])
            } else if !up && peersUp.contains(peer.name) {
                peersUp.remove(peer.name)
                let reason =
                    keyExpiryEnforced.contains(peer.name)
                    ? "key expired" : (session ? "no answer to probes for 5 s" : "no handshake for 180 s")
                out.audit("peer_left", ["peer": .string(peer.name), "reason": .string(reason)])
            }
            guard let expiry = peer.keyExpires, !keyExpiryEnforced.contains(peer.name) else { continue }
            if expiry.isExpired(atSecondsSince1970: wallNow) {
                // Stop accepting the key: the peer leaves the intent, so the engine forgets it and its
                // handshakes no longer match; routes through it go.
                keyExpiryEnforced.insert(peer.name)
                out.log(
                    .error,
                    "key of peer \(peer.name) expired at \(expiry); no longer accepted (update key_expires and public_key, then reload)"
                )
                out.audit("key_expired", ["peer": .string(peer.name), "expired": .string(expiry.text)])
                recomputeRoutes(now: now, out: &out)
            } else if expiry.secondsSince1970 - wallNow < GatewayController.keyExpiryWarning.components.seconds,
                keyExpiryWarnedAt[peer.name].map({ now.duration(since: $0) >= .seconds(3600) }) ?? true
            {
                keyExpiryWarnedAt[peer.name] = now
                let days = Double(expiry.secondsSince1970 - wallNow) / 86400
                out.log(.warning, "key of peer \(peer.name) expires at \(expiry) (in \(days.formatted1) days)")
                out.audit(
                    "key_expiring",
                    ["peer": .string(peer.name), "expires": .string(expiry.text), "days_left": .double(days)])
            }
        }
        if !refusedHandshakes.isEmpty,
            now.duration(since: lastRefusalSummaryAt) >= GatewayController.refusalSummaryInterval
        {
            lastRefusalSummaryAt = now
            // One line per reason per interval, so a flood of garbage cannot flood the audit log.
            for (reason, count) in refusedHandshakes.sorted(by: { $0.key < $1.key }) {
                out.audit("handshake_failed", ["reason": .string(reason), "count": .int(count)])
            }
            refusedHandshakes.removeAll()
        }
    }
}

extension Double {
    /// One decimal, without Foundation.
    var formatted1: String {
        let tenths = (self * 10).rounded()
        let whole = Int(tenths / 10)
        let fraction = Int(abs(tenths.truncatingRemainder(dividingBy: 10)))
        return "\(tenths < 0 && whole == 0 ? "-" : "")\(whole).\(fraction)"
    }
}
