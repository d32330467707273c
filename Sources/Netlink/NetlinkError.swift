import Glibc

/// Why a ``RouteNetlink`` operation (or a neighbour announcement) failed. Every case names the operation,
/// so a log line says what was attempted as well as what the kernel answered.
public enum NetlinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel refused a request. `op` describes it (for example `replace route 10.1.0.0/24 dev 3 table 254
    /// proto 88`); `errno` is the kernel's positive error number (`ESRCH` for a missing route, `ENODEV` for
    /// a missing interface, `EEXIST` when adding what exists).
    case request(op: String, errno: Int32)
    /// Some requests of one ``RouteNetlink/apply(_:)`` batch failed; the others took effect. `failures` is
    /// ordered by index and is never empty; `requestCount` is the size of the batch.
    case batch(failures: [RequestFailure], requestCount: Int)
    /// A system call on the netlink or packet socket failed (opening, entering a namespace, sending,
    /// receiving). After a failed receive the outcome of requests still unacknowledged is unknown.
    case system(op: String, errno: Int32)
    /// A kernel reply did not have the expected shape.
    case malformedReply(String)
    /// A dump kept being interrupted by concurrent changes (`NLM_F_DUMP_INTR`) and was given up.
    case dumpInterrupted(op: String)
    /// A request could not be encoded (a negative MTU, a prefix length too long for the address, a
    /// hardware address of the wrong length). Nothing of the call or batch was sent.
    case invalidArgument(String)

    /// The errno of a refused request or failed system call, or of the first failure of a batch.
    public var errno: Int32? {
        switch self {
        case .request(_, let code), .system(_, let code): code
        case .batch(let failures, _): failures.first?.errno
        case .malformedReply, .dumpInterrupted, .invalidArgument: nil
        }
    }

    public var description: String {
        switch self {
        case .request(let op, let code):
            "netlink \(op): \(Self.describe(code))"
        case .batch(let failures, let requestCount):
            "\(failures.count) of \(requestCount) netlink requests failed"
                + (failures.first.map { "; first: #\($0.index) \($0.op): \(Self.describe($0.errno))" } ?? "")
        case .system(let op, let code):
            "\(op): \(Self.describe(code))"
        case .malformedReply(let what):
            "malformed netlink reply: \(what)"
        case .dumpInterrupted(let op):
            "netlink \(op): dump interrupted by concurrent changes too many times"
        case .invalidArgument(let what):
            "invalid netlink request: \(what)"
        }
    }

    static func describe(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}

/// One failed request of a batch: its position in the array given to ``RouteNetlink/apply(_:)``, what it
/// was, and the kernel's errno.
public struct RequestFailure: Sendable, Hashable, CustomStringConvertible {
    /// The request's index in the batch.
    public let index: Int
    /// The request's description, as in ``NetlinkError/request(op:errno:)``.
    public let op: String
    /// The kernel's positive error number.
    public let errno: Int32

    public init(index: Int, op: String, errno: Int32) {
        self.index = index
        self.op = op
        self.errno = errno
    }

    public var description: String { "#\(index) \(op): \(NetlinkError.describe(errno))" }
}
