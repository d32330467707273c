public import NetworkTypes

/// Per-source token buckets for handshake messages while under load (whitepaper §5.3), as wireguard-go's
/// `ratelimiter`: ``Implementation/handshakesPerSecondPerSource`` sustained, a small burst. Buckets of
/// sources not seen for a second are forgotten. Not safe for concurrent use.
struct HandshakeRateLimiter {
    private struct Bucket {
        var tokens: Double
        var updatedAt: Instant
    }

    private var buckets: [IPAddress: Bucket] = [:]
    private var lastSweep: Instant?

    /// Takes one token for `source`; false if it has none left.
    mutating func allow(_ source: IPAddress, now: Instant) -> Bool {
        sweep(now: now)
        let rate = Double(Implementation.handshakesPerSecondPerSource)
        let burst = Double(Implementation.handshakeBurstPerSource)
        var bucket = buckets[source] ?? Bucket(tokens: burst, updatedAt: now)
        let elapsed = Double(now.duration(since: bucket.updatedAt).nanosecondsClamped) / 1e9
        bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
        bucket.updatedAt = now
        let allowed = bucket.tokens >= 1
        if allowed { bucket.tokens -= 1 }
        buckets[source] = bucket
        return allowed
    }

    private mutating func sweep(now: Instant) {
        if let last = lastSweep, now.duration(since: last) < .seconds(1) { return }
        lastSweep = now
        buckets = buckets.filter { now.duration(since: $0.value.updatedAt) < .seconds(1) }
    }
}
