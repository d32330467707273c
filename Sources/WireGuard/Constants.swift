/// Protocol constants from the WireGuard whitepaper §6.1 ("Timers & Stateless UI"), with its names.
public enum Specification {
    /// After this many messages under one keypair, the initiator starts a new handshake.
    public static let rekeyAfterMessages: UInt64 = 1 << 60
    /// No keypair may be used for more than this many messages.
    public static let rejectAfterMessages: UInt64 = UInt64.max - (1 << 13)
    /// After this long, the initiator of a keypair starts a new handshake when it sends.
    public static let rekeyAfterTime: Duration = .seconds(120)
    /// A keypair older than this is never used.
    public static let rejectAfterTime: Duration = .seconds(180)
    /// For this long a peer keeps retrying a handshake before giving up.
    public static let rekeyAttemptTime: Duration = .seconds(90)
    /// Between handshake retransmissions.
    public static let rekeyTimeout: Duration = .seconds(5)
    /// Passive keepalive: sent when data arrived but nothing was sent for this long.
    public static let keepaliveTimeout: Duration = .seconds(10)
    /// A cookie secret and a received cookie are valid for this long.
    public static let cookieRefreshTime: Duration = .seconds(120)
}

/// Choices of this implementation that the whitepaper leaves open (wireguard-go and the kernel make the same).
public enum Implementation {
    /// Packets held per peer while a handshake is in flight; the oldest is dropped beyond this.
    public static let maxStagedPackets = 128
    /// Upper bound of the random jitter added to handshake retransmissions (whitepaper §6.1).
    public static let rekeyTimeoutJitterMaxMilliseconds: UInt32 = 334
    /// Retries of a handshake before giving up: rekeyAttemptTime / rekeyTimeout.
    public static let maxHandshakeAttempts = 18
    /// Two initiations from one peer closer together than this are refused (flood protection).
    public static let minInitiationInterval: Duration = .milliseconds(20)
    /// Handshake messages per second on the interface above which we consider ourselves under load.
    public static let underLoadHandshakesPerSecond = 512
    /// Once under load, stay there this long after the rate falls.
    public static let underLoadAfterTime: Duration = .seconds(1)
    /// Per source IP when under load: sustained handshake rate and burst (token bucket).
    public static let handshakesPerSecondPerSource = 20
    public static let handshakeBurstPerSource = 5
    /// Transport payloads are padded to a multiple of this (whitepaper §5.4.6).
    public static let paddingMultiple = 16
    /// How many counters behind the newest one are still accepted (RFC 6479 window, as the kernel sizes it).
    public static let replayWindowSize: UInt64 = 8192 - 64
    /// A liveness poll (``Engine/livenessRound(of:pollAfter:now:)``) is a transport message whose plaintext
    /// is this many zero bytes: padding alone, no packet (whitepaper §5.4.6). meshgate answers it with a
    /// keepalive; another implementation drops it as a packet of IP version 0.
    public static let pollPlaintextLength = 16
    /// Largest number of peers on one interface.
    public static let maxPeers = 1 << 16
}
