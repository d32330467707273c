/// Sliding-window replay protection for transport counters (RFC 6479), sized as the Linux kernel's.
///
/// Accepts each counter at most once and rejects counters more than ``Implementation/replayWindowSize``
/// behind the greatest accepted one. Call ``accept(_:)`` only after the packet authenticated.
/// Not safe for concurrent use.
struct ReplayWindow {
    private static let bitsPerWord: UInt64 = 64
    private static let wordCount = 128  // 8192 bits
    private static let wordMask = UInt64(wordCount - 1)

    /// One more than the greatest counter accepted so far (0 before any).
    private var next: UInt64 = 0
    private var words = [UInt64](repeating: 0, count: ReplayWindow.wordCount)

    /// Records `counter` and returns true if it is new and inside the window; false for a replay,
    /// a counter too old for the window, or one at or beyond the reject-after-messages limit.
    mutating func accept(_ counter: UInt64) -> Bool {
        guard counter < Specification.rejectAfterMessages, next <= Specification.rejectAfterMessages else {
            return false
        }
        let position = counter + 1
        if position &+ Implementation.replayWindowSize < next { return false }
        let index = position / Self.bitsPerWord
        if position > next {
            let currentIndex = next / Self.bitsPerWord
            let toClear = min(index - currentIndex, UInt64(Self.wordCount))
            var i: UInt64 = 1
            while i <= toClear {
                words[Int((currentIndex + i) & Self.wordMask)] = 0
                i += 1
            }
            next = position
        }
        let word = Int(index & Self.wordMask)
        let bit = UInt64(1) << (position & (Self.bitsPerWord - 1))
        if words[word] & bit != 0 { return false }
        words[word] |= bit
        return true
    }
}
