/// Splits the bytes of one UAPI connection into requests, however they are chunked.
///
/// Feed every read to ``append(_:)``, then call ``nextRequest()`` until it returns nil. Framing follows
/// wireguard-go's `IpcHandle`: the first line must be exactly `get=1` or `set=1`; `get=1\n` must be
/// followed by `\n`; a `set=1` request runs to the first empty line, and a `\r` before a `\n` is dropped
/// from its lines (Go's line scanner does the same). Several requests may follow one another on one
/// connection.
///
/// Unlike wireguard-go, a request may not grow past ``maximumRequestBytes``, so a client cannot make
/// the daemon buffer without bound. Once ``isClosed`` is true the parser ignores further input.
public struct UAPIRequestParser: Sendable {
    /// The default cap on one request: 8 MiB, room for `wg setconf` of some 60,000 peers.
    public static let defaultMaximumRequestBytes = 8 << 20

    /// The longest request, counted from its first byte through its terminating blank line.
    public let maximumRequestBytes: Int

    /// True after ``UAPIRequest/invalid(_:)`` or ``UAPIError/requestTooLarge(limit:)``: the connection
    /// should be closed and no more requests will come.
    public private(set) var isClosed = false

    private enum State: Sendable {
        /// Waiting for the operation line.
        case awaitingOperation
        /// Read `get=1\n`; the next byte must be `\n`.
        case awaitingGetTerminator
        /// Inside a `set=1` request: the lines so far and the request's size in bytes so far.
        case readingSet(lines: [Substring], byteCount: Int)
    }

    private var state = State.awaitingOperation
    /// Received bytes; those before `consumed` are already handled.
    private var buffer: [UInt8] = []
    private var consumed = 0
    /// Bytes from `consumed` up to here are known to hold no `\n`, so scanning resumes here.
    private var scanned = 0

    /// Creates a parser that rejects requests longer than `maximumRequestBytes`.
    public init(maximumRequestBytes: Int = UAPIRequestParser.defaultMaximumRequestBytes) {
        self.maximumRequestBytes = maximumRequestBytes
    }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        guard !isClosed else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next complete request, or nil if more bytes are needed (or the parser is closed).
    public mutating func nextRequest() -> UAPIRequest? {
        guard !isClosed else { return nil }
        defer { compact() }
        while true {
            switch state {
            case .awaitingOperation:
                guard let newline = findNewline() else {
                    return checkPartialSize(alreadyCounted: 0)
                }
                let line = buffer[consumed..<newline]
                consume(through: newline)
                if line.elementsEqual("get=1".utf8) {
                    state = .awaitingGetTerminator
                } else if line.elementsEqual("set=1".utf8) {
                    state = .readingSet(lines: [], byteCount: line.count + 1)
                } else {
                    close()
                    return .invalid(UAPIError.evidence(line))
                }
            case .awaitingGetTerminator:
                guard consumed < buffer.count else { return nil }
                let byte = buffer[consumed]
                consume(through: consumed)
                state = .awaitingOperation
                return byte == UInt8(ascii: "\n") ? .get : .failed(.trailingCharacterAfterGet(byte))
            case .readingSet(var lines, let byteCount):
                guard let newline = findNewline() else {
                    return checkPartialSize(alreadyCounted: byteCount)
                }
                let size = byteCount + (newline - consumed) + 1
                guard size <= maximumRequestBytes else { return fail() }
                var line = buffer[consumed..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                consume(through: newline)
                if line.isEmpty {
                    state = .awaitingOperation
                    return .set(lines)
                }
                // Drop the state's reference first, so the append below does not copy the array.
                state = .awaitingOperation
                lines.append(Substring(String(decoding: line, as: UTF8.self)))
                state = .readingSet(lines: lines, byteCount: size)
            }
        }
    }

    /// The index of the next `\n` at or after `consumed`, remembering how far the search got.
    private mutating func findNewline() -> Int? {
        while scanned < buffer.count {
            if buffer[scanned] == UInt8(ascii: "\n") { return scanned }
            scanned += 1
        }
        return nil
    }

    /// With no complete line yet: fails if the unfinished request is already over the limit.
    private mutating func checkPartialSize(alreadyCounted: Int) -> UAPIRequest? {
        alreadyCounted + (buffer.count - consumed) > maximumRequestBytes ? fail() : nil
    }

    private mutating func consume(through index: Int) {
        consumed = index + 1
        scanned = consumed
    }

    private mutating func fail() -> UAPIRequest {
        close()
        return .failed(.requestTooLarge(limit: maximumRequestBytes))
    }

    private mutating func close() {
        isClosed = true
        buffer = []
        consumed = 0
        scanned = 0
        state = .awaitingOperation
    }

    /// Drops handled bytes once they are a large share of the buffer, keeping appends amortised O(1).
    private mutating func compact() {
        guard consumed > 0, consumed >= 4096 || consumed * 2 >= buffer.count else { return }
        buffer.removeFirst(consumed)
        scanned -= consumed
        consumed = 0
    }
}
