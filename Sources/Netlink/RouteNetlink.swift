internal import CLibMNL
import Glibc
import LinuxSystem

// DESIGN: typed rtnetlink for the daemon's kernel reconciliation.
//
//   caller ──► RouteNetlink.apply([NetlinkRequest])          one sendmsg per ≤128 KiB of messages
//                 │ checkArguments() for all (nothing sent if one is invalid)
//                 │ encode each with NLM_F_REQUEST|NLM_F_ACK and its own sequence number
//                 ▼
//              kernel rtnetlink: processes every message in order, acks each one (0 or -errno);
//                 │ a failure does not stop the messages after it, and nothing is rolled back
//                 ▼
//              receive loop: match acks to requests by sequence number until all are in
//
// Reads are dumps (NLM_F_DUMP) filtered in user space; a dump interrupted by a concurrent change
// (NLM_F_DUMP_INTR) is repeated. Replies with a foreign sequence number (left over from an operation that
// threw half-way) are skipped, so one failure does not poison the socket.

/// An rtnetlink (`NETLINK_ROUTE`) socket with typed operations on links, addresses and routes.
///
/// Owns one libmnl socket, bound to the network namespace it was created in for its whole life (create it
/// with ``open(inNamespace:)`` to program another namespace). Not safe for concurrent use: it keeps one
/// sequence counter and one receive buffer, so use it from one thread or task at a time.
///
/// Netlink routing has no transactions: a failed request in ``apply(_:)`` leaves the others applied, and the
/// error says exactly which ones failed.
public final class RouteNetlink {
    /// The `rtm_protocol` that marks routes as meshgate's, so a restarted daemon can find and prune its
    /// stale routes (`routes(protocolNumber: RouteNetlink.meshgateRouteProtocol)`), as BIRD does with
    /// `RTPROT_BIRD`.
    ///
    /// 88 is assigned neither in the kernel's `RTPROT_*` list (linux/rtnetlink.h: 0-4, 8-18, 42, 99,
    /// 186-192) nor in Debian 12's /etc/iproute2/rt_protos, so `ip route` prints it as `proto 88`; an
    /// operator may name it with a line `88 meshgate` in /etc/iproute2/rt_protos.d/meshgate.conf.
    public static let meshgateRouteProtocol: UInt8 = 88

    /// Requests per sendmsg are bounded by this many bytes and by the receive buffer's room for acks.
    static let batchBytes = 128 * 1024
    /// The kernel charges roughly this much receive-buffer space per queued ack (skb overhead included).
    static let receiveBytesPerAck = 1024
    /// The largest single message we build (a route with every attribute is about 100 bytes).
    static let maximumMessageBytes = 512

    let transport: NetlinkTransport
    var portID: UInt32 { transport.portID }
    /// At most this many acks are outstanding at once, so they all fit in the receive buffer.
    let maximumRequestsPerSend: Int
    /// The most bytes of messages one sendmsg carries (the kernel refuses more than the send buffer).
    let maximumBytesPerSend: Int
    let sendBuffer: UnsafeMutableRawBufferPointer
    /// A stuck kernel must not hang the daemon forever.
    static let replyTimeoutMilliseconds: Int32 = 10_000

    /// Opens and binds a netlink socket in the calling thread's network namespace.
    ///
    /// As root the socket's buffers are raised (`SO_RCVBUFFORCE`) so that a large ``apply(_:)`` batch's acks
    /// are not dropped; without that privilege batches are split into smaller sends.
    public init() throws(NetlinkError) {
        transport = try NetlinkTransport(.route)
        let fd = transport.descriptor
        // Error acks carry only the failed message's header, not the whole request.
        var one: Int32 = 1
        _ = setsockopt(fd, Self.solNetlink, NETLINK_CAP_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        let sendBytes = Self.raiseBuffer(fd: fd, force: SO_SNDBUFFORCE, plain: SO_SNDBUF, bytes: 1 << 20)
        self.maximumBytesPerSend = max(Self.maximumMessageBytes, min(Self.batchBytes, sendBytes - 64))
        let receiveBytes = Self.raiseBuffer(fd: fd, force: SO_RCVBUFFORCE, plain: SO_RCVBUF, bytes: 8 << 20)
        self.maximumRequestsPerSend = max(16, receiveBytes / Self.receiveBytesPerAck)
        self.sendBuffer = .allocate(byteCount: Self.batchBytes + Self.maximumMessageBytes, alignment: 8)
    }

    /// `SOL_NETLINK` (linux/socket.h), the level of netlink socket options.
    static let solNetlink: Int32 = 270

    deinit {
        sendBuffer.deallocate()
    }

    /// Opens a socket inside the namespace `ip netns add NAME` created (`/var/run/netns/NAME`). The socket
    /// stays in that namespace; the calling thread does not.
    public static func open(inNamespace name: String) throws(NetlinkError) -> RouteNetlink {
        try inNamespace(name) { () throws(NetlinkError) in try RouteNetlink() }
    }

    /// Sets a socket buffer size, privileged first; returns the size the kernel granted.
    private static func raiseBuffer(fd: Int32, force: Int32, plain: Int32, bytes: Int32) -> Int {
        var size = bytes
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, force, &size, length) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, plain, &size, length)
        }
        var granted: Int32 = 0
        var grantedLength = length
        _ = getsockopt(fd, SOL_SOCKET, plain, &granted, &grantedLength)
        return Int(granted)
    }
}

/// Runs `body` in the named namespace when `name` is given, in the current one otherwise.
func inNamespace<R>(_ name: String?, _ body: () throws(NetlinkError) -> R) throws(NetlinkError) -> R {
    guard let name else { return try body() }
    let path = NetworkNamespace.path(named: name)
    do {
        return try NetworkNamespace.withNamespace(path: path) { try body() }
    } catch let error as NetlinkError {
        throw error
    } catch let error as SystemError {
        throw .system(op: "enter network namespace \(name): \(error.operation)", errno: error.errno)
    } catch {
        throw .system(op: "enter network namespace \(name): \(error)", errno: EINVAL)
    }
}
