import CLinuxShims
import Glibc
public import NetworkTypes

/// The dual-stack UDP socket WireGuard datagrams travel on, with batched receive and send.
///
/// Receiving and sending use separate ``Batch`` objects owned by their threads; the socket itself is
/// safe to use from several threads.
public final class UDPSocket: @unchecked Sendable {
    public let descriptor: FileDescriptor
    /// The bound port (the kernel's choice when 0 was asked for).
    public let port: UInt16

    /// Binds `[::]:port` with IPv4 mapped in. Socket buffers are raised (as root, beyond rmem_max) so a
    /// burst does not overflow the queue.
    public init(port: UInt16, bufferBytes: Int32 = 8 << 20) throws(SystemError) {
        let fd = try syscall("socket(AF_INET6, SOCK_DGRAM)") {
            socket(AF_INET6, CLinuxShims_SOCK_DGRAM_CLOEXEC_NONBLOCK, 0)
        }
        let descriptor = FileDescriptor(rawValue: fd)
        var off: Int32 = 0
        _ = try syscall("setsockopt(IPV6_V6ONLY)") {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, 4)
        }
        var size = bufferBytes
        // FORCE variants need CAP_NET_ADMIN; fall back to the capped ones quietly.
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, 4) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4)
        }
        if setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, 4) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, 4)
        }
        var sa = SocketAddress.make(Endpoint(address: .v6(IPv6Address(high: 0, low: 0)), port: port))
        _ = try syscall("bind UDP port \(port)") {
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = try syscall("getsockname") {
            withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        }
        self.descriptor = descriptor
        self.port = UInt16(bigEndian: bound.sin6_port)
    }

    public func close() { descriptor.close() }

    /// Sets SO_MARK on outgoing datagrams (0 clears it), for policy routing.
    public func setFirewallMark(_ mark: UInt32) throws(SystemError) {
        var value = mark
        _ = try syscall("setsockopt(SO_MARK)") { setsockopt(descriptor.rawValue, SOL_SOCKET, SO_MARK, &value, 4) }
    }

    /// Sends one datagram (rare paths: handshakes, keepalives). Errors are returned, not thrown: a
    /// send failure to one peer must not stop the loop.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to endpoint: Endpoint) -> Int32 {
        var sa = SocketAddress.make(endpoint)
        let n = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(
                    descriptor.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0,
                    socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        return n < 0 ? errno : 0
    }
}

/// Preallocated buffers and headers for `recvmmsg`/`sendmmsg`: one per thread, reused for every batch,
/// so the packet path allocates nothing.
public final class DatagramBatch: @unchecked Sendable {
    /// Messages per system call.
    public let capacity: Int
    /// Bytes per message buffer.
    public let bufferSize: Int
    private let storage: UnsafeMutableRawBufferPointer
    private let headers: UnsafeMutablePointer<CLinuxShims_mmsghdr>
    private let iovecs: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_in6>
    /// Number of valid messages after a receive, or queued for a send.
    public private(set) var count = 0
    private var lengths: [Int]
    private var queued: [Int]

    public init(capacity: Int, bufferSize: Int) {
        self.capacity = capacity
        self.bufferSize = bufferSize
        storage = .allocate(byteCount: capacity * bufferSize, alignment: 16)
        headers = .allocate(capacity: capacity)
        iovecs = .allocate(capacity: capacity)
        addresses = .allocate(capacity: capacity)
        lengths = [Int](repeating: 0, count: capacity)
        queued = [Int](repeating: 0, count: capacity)
        headers.initialize(repeating: CLinuxShims_mmsghdr(), count: capacity)
        iovecs.initialize(repeating: iovec(), count: capacity)
        addresses.initialize(repeating: sockaddr_in6(), count: capacity)
    }

    deinit {
        storage.deallocate()
        headers.deallocate()
        iovecs.deallocate()
        addresses.deallocate()
    }

    /// The whole buffer of slot `i`.
    public func buffer(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: storage[(i * bufferSize)..<((i + 1) * bufferSize)])
    }

    /// The received or queued bytes of slot `i`.
    public func datagram(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: storage[(i * bufferSize)..<(i * bufferSize + lengths[i])])
    }

    public func length(_ i: Int) -> Int { lengths[i] }

    /// The peer address of received slot `i`.
    public func source(_ i: Int) -> Endpoint { SocketAddress.endpoint(addresses[i]) }

    /// Receives up to `capacity` datagrams without blocking; returns how many (0 when none waited).
    public func receive(from socket: UDPSocket) throws(SystemError) -> Int {
        for i in 0..<capacity {
            iovecs[i].iov_base = storage.baseAddress! + i * bufferSize
            iovecs[i].iov_len = bufferSize
            headers[i].msg_hdr = msghdr()
            headers[i].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + i)
            headers[i].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
            headers[i].msg_hdr.msg_iov = iovecs + i
            headers[i].msg_hdr.msg_iovlen = 1
            headers[i].msg_len = 0
        }
        while true {
            let n = CLinuxShims_recvmmsg(socket.descriptor.rawValue, headers, UInt32(capacity), Int32(MSG_DONTWAIT))
            if n >= 0 {
                count = Int(n)
                for i in 0..<count { lengths[i] = Int(headers[i].msg_len) }
                return count
            }
            if -n == EINTR { continue }
            if -n == EAGAIN || -n == EWOULDBLOCK {
                count = 0
                return 0
            }
            throw SystemError("recvmmsg", errno: -n)
        }
    }

    /// Queues slot `i`, holding a datagram of `length` bytes, for `endpoint` in the next ``send(on:)``.
    /// Slots may be queued in any order and with gaps.
    public func queue(slot i: Int, length: Int, to endpoint: Endpoint) {
        lengths[i] = length
        addresses[i] = SocketAddress.make(endpoint)
        queued[count] = i
        count += 1
    }

    /// Sends the queued slots with as few `sendmmsg` calls as the kernel allows; returns how many were
    /// not sent (an error for that destination), which the caller counts as drops.
    public func send(on socket: UDPSocket) -> Int {
        guard count > 0 else { return 0 }
        for k in 0..<count {
            let i = queued[k]
            iovecs[k].iov_base = storage.baseAddress! + i * bufferSize
            iovecs[k].iov_len = lengths[i]
            headers[k].msg_hdr = msghdr()
            headers[k].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + i)
            headers[k].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
            headers[k].msg_hdr.msg_iov = iovecs + k
            headers[k].msg_hdr.msg_iovlen = 1
        }
        var done = 0
        var failed = 0
        while done < count {
            let n = CLinuxShims_sendmmsg(socket.descriptor.rawValue, headers + done, UInt32(count - done), 0)
            if n > 0 {
                done += Int(n)
            } else if n == -EINTR {
                continue
            } else if n == -EAGAIN || n == -EWOULDBLOCK {
                // Wait for room rather than drop: back-pressure keeps TCP from retransmitting.
                var p = pollfd(fd: socket.descriptor.rawValue, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 100)
            } else {
                // One bad destination (e.g. unreachable) must not block the rest: skip that datagram.
                failed += 1
                done += 1
            }
        }
        count = 0
        return failed
    }
}
