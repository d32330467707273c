import Synchronization

extension MetricsRegistry {
    /// Updates the per-peer series from one poll of the WireGuard peer state.
    /// - Parameters:
    ///   - name: The peer's configured name (the `peer` label).
    ///   - up: Whether the daemon considers the tunnel to the peer up.
    ///   - lastHandshake: Unix time (seconds) of the last completed handshake; `nil` if none yet (exported
    ///     as 0, so "no handshake in 3 minutes" fires for a peer that never connected).
    ///   - rxBytes: The running total of bytes received from the peer.
    ///   - txBytes: The running total of bytes sent to the peer.
    ///   - keyExpiry: Unix time (seconds) of the peer's `key_expires`; `nil` removes the series.
    public func setPeer(
        name: String,
        up: Bool,
        lastHandshake: Double?,
        rxBytes: UInt64,
        txBytes: UInt64,
        keyExpiry: Double?
    ) {
        state.withLock { state in
            setGauge(MetricCatalog.peerUp, [name], to: up ? 1 : 0, in: &state)
            setGauge(MetricCatalog.peerLastHandshakeTimestamp, [name], to: lastHandshake ?? 0, in: &state)
            advance(MetricCatalog.peerReceiveBytes, [name], toTotal: rxBytes, in: &state)
            advance(MetricCatalog.peerTransmitBytes, [name], toTotal: txBytes, in: &state)
            if let keyExpiry {
                setGauge(MetricCatalog.peerKeyExpiryTimestamp, [name], to: keyExpiry, in: &state)
            } else {
                remove(MetricCatalog.peerKeyExpiryTimestamp, [name], in: &state)
            }
        }
    }

    /// Records one overlay-probe round trip to the peer in `meshgate_peer_rtt_seconds`.
    /// Negative or non-finite values are ignored.
    public func observePeerRTT(name: String, seconds: Double) {
        state.withLock { observe(MetricCatalog.peerRTT, [name], seconds, in: &$0) }
    }

    /// Records one overlay-probe round trip to the peer in `meshgate_peer_rtt_seconds`.
    public func observePeerRTT(name: String, rtt: Duration) {
        observePeerRTT(name: name, seconds: rtt.secondsAsDouble)
    }

    /// Sets the share of recent probes to the peer that went unanswered; clamped to 0...1.
    public func setPeerProbeLoss(name: String, ratio: Double) {
        let clamped = ratio.isNaN ? ratio : Swift.min(Swift.max(ratio, 0), 1)
        state.withLock { setGauge(MetricCatalog.peerProbeLoss, [name], to: clamped, in: &$0) }
    }

    /// The peer's direct link and the path its subnets take (`via`: a relay's name, or nil for direct).
    public func setPeerLink(name: String, directUp: Bool, via: String?, pathChanges: UInt64) {
        state.withLock { state in
            setGauge(MetricCatalog.peerDirectLinkUp, [name], to: directUp ? 1 : 0, in: &state)
            let current = via ?? "direct"
            if let previous = state.peerPaths[name], previous != current {
                remove(MetricCatalog.peerPath, [name, previous], in: &state)
            }
            state.peerPaths[name] = current
            setGauge(MetricCatalog.peerPath, [name, current], to: 1, in: &state)
            advance(MetricCatalog.pathChanges, [name], toTotal: pathChanges, in: &state)
        }
    }

    /// Deletes every series of the peer (for example after a reload removed it), so that dashboards and
    /// alerts stop seeing it; a later update recreates them from zero.
    public func removePeer(name: String) {
        state.withLock { state in
            if let path = state.peerPaths.removeValue(forKey: name) {
                remove(MetricCatalog.peerPath, [name, path], in: &state)
            }
            for metric in MetricCatalog.perPeer {
                remove(metric, [name], in: &state)
            }
        }
    }
}

extension Duration {
    /// The duration in seconds, with attosecond components folded in.
    var secondsAsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
