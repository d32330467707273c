/// The sequence numbers of one gateway's messages: **one** counter for hellos, routes and withdraws.
///
/// Receivers rely on both properties: ``RouteTable`` and ``PrimaryElection`` drop a message whose
/// sequence is not above the last one from the same gateway, and ``PrimaryView`` keeps a gateway's
/// newest role report by comparing sequences across hellos and routes messages. Seeding from the wall
/// clock makes a restarted daemon continue above its previous run (it sends far fewer than one message
/// per nanosecond), so its first messages are not dropped as stale. Not safe for concurrent use.
public struct MessageCounter: Sendable, Hashable {
    /// The last number handed out.
    public private(set) var last: UInt64

    /// Starts at the wall-clock reading (`CLOCK_REALTIME`, nanoseconds since 1970), passed in.
    public init(wallClockNanoseconds: UInt64) {
        last = wallClockNanoseconds
    }

    /// The next sequence number.
    public mutating func next() -> UInt64 {
        last &+= 1
        return last
    }
}
