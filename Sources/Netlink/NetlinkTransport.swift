internal import CLibMNL
internal import Glibc

/// One netlink socket (libmnl's), the only one in meshgate: rtnetlink (``RouteNetlink``) and nf_tables
/// (the NFTables module) both talk through it, so opening, binding, sending, receiving with a deadline
/// and walking the messages of a datagram live in one place.
///
/// Bound to the network namespace of the thread that created it, for life. Not safe for concurrent use:
/// one exchange (a send and its replies) at a time.
public final class NetlinkTransport {
    /// The netlink protocol family of the socket.
    public enum Family: Sendable {
        /// `NETLINK_ROUTE`: links, addresses, routes.
        case route
        /// `NETLINK_NETFILTER`: nf_tables.
        case netfilter

        var number: Int32 {
            switch self {
            case .route: NETLINK_ROUTE
            case .netfilter: NETLINK_NETFILTER
            }
        }
    }

    /// Room for one reply datagram: dumps fill up to 32 KiB (the kernel follows the reader's buffer size).
    static let receiveBufferBytes = 64 * 1024
    /// A netlink message header (`struct nlmsghdr`), which NLMSG_HDRLEN rounds to 16 bytes.
    public static let headerBytes = 16

    let socket: OpaquePointer
    /// The kernel-assigned port ID that answers are addressed to.
    public let portID: UInt32
    /// The socket's descriptor (for buffer sizes and options).
    public let descriptor: Int32
    private var sequence: UInt32
    let receiveBuffer: UnsafeMutableRawBufferPointer

    /// Opens and binds a socket of family (close-on-exec, kernel-assigned port ID) in the calling
    /// thread's network namespace.
    public init(_ family: Family) throws(NetlinkError) {
        guard let socket = mnl_socket_open2(family.number, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw .system(op: "open netlink socket (\(family))", errno: errno)
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let code = errno
            mnl_socket_close(socket)
            throw .system(op: "bind netlink socket", errno: code)
        }
        self.socket = socket
        portID = mnl_socket_get_portid(socket)
        descriptor = mnl_socket_get_fd(socket)
        sequence = UInt32(truncatingIfNeeded: time(nil))
        receiveBuffer = .allocate(byteCount: Self.receiveBufferBytes, alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        receiveBuffer.deallocate()
    }

    /// Reserves `count` consecutive sequence numbers and returns the first.
    public func takeSequences(_ count: Int = 1) -> UInt32 {
        let first = sequence
        sequence &+= UInt32(truncatingIfNeeded: count)
        return first
    }

    /// Sends one datagram of messages, whole.
    public func send(_ bytes: UnsafeRawBufferPointer, operation: String) throws(NetlinkError) {
        while true {
            let sent = mnl_socket_sendto(socket, bytes.baseAddress, bytes.count)
            if sent == bytes.count { return }
            if sent < 0 && errno == EINTR { continue }
            throw .system(op: "send netlink request (\(operation))", errno: sent < 0 ? errno : EMSGSIZE)
        }
    }

    /// Receives one datagram; nil when none arrived within `timeoutMilliseconds` (-1: wait for ever).
    /// The bytes stay valid until the next receive.
    public func receive(operation: String, timeoutMilliseconds: Int32 = -1) throws(NetlinkError)
        -> UnsafeRawBufferPointer?
    {
        while true {
            var readable = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&readable, 1, timeoutMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .system(op: "poll netlink socket (\(operation))", errno: errno)
            }
            if ready == 0 { return nil }
            let received = mnl_socket_recvfrom(socket, receiveBuffer.baseAddress!, receiveBuffer.count)
            if received > 0 { return UnsafeRawBufferPointer(rebasing: receiveBuffer[0..<received]) }
            let code = received < 0 ? errno : EPROTO
            if code == EINTR || code == EAGAIN { continue }
            if code == ENOBUFS {
                throw .system(
                    op: "receive netlink answers (\(operation); answers were lost, outcome unknown)", errno: code)
            }
            throw .system(op: "receive netlink answers (\(operation))", errno: code)
        }
    }

    /// The fields of a netlink message header (`struct nlmsghdr`), read from its bytes.
    public struct MessageHeader: Sendable, Hashable {
        public var length: UInt32
        public var type: UInt16
        public var flags: UInt16
        public var sequence: UInt32
        public var portID: UInt32

        public init(_ start: UnsafeRawPointer) {
            length = start.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            type = start.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
            flags = start.loadUnaligned(fromByteOffset: 6, as: UInt16.self)
            sequence = start.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
            portID = start.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        }
    }

    /// Calls `body` with each well-formed message in `datagram` (its start and length), in order.
    public static func forEachMessage<E: Error>(
        in datagram: UnsafeRawBufferPointer, _ body: (UnsafeRawPointer, Int) throws(E) -> Void
    ) throws(E) {
        guard let base = datagram.baseAddress else { return }
        var offset = 0
        while datagram.count - offset >= headerBytes {
            let length = Int(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            guard length >= headerBytes, length <= datagram.count - offset else { return }
            try body(base + offset, length)
            offset += (length + 3) & ~3  // NLMSG_ALIGN
        }
    }
}
