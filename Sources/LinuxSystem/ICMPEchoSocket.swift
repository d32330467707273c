import CLinuxShims
import Glibc
public import NetworkTypes

/// A raw ICMP (IPv4) or ICMPv6 socket for end-to-end path probes: sends echo requests (RFC 792, RFC 4443
/// §4) from a fixed local `source` address and reads the echo replies that carry our `identifier`.
///
/// Needs CAP_NET_RAW. The kernel routes each request (typically into a tunnel); binding `source` (for
/// example a gateway's LAN-side address) makes the probe test the same path as the traffic it stands for.
/// Every raw ICMP socket on the machine sees every echo reply, so probers sharing the machine tell theirs
/// apart by identifier, which the caller picks; nothing here is global.
public final class ICMPEchoSocket: @unchecked Sendable {
    public let descriptor: FileDescriptor
    public let identifier: UInt16
    public let source: IPAddress

    /// Opens a raw socket of `source`'s family and binds it to `source`, which must be a local address
    /// (not link-local: no scope is given).
    public init(source: IPAddress, identifier: UInt16) throws(SystemError) {
        let ipv4 = source.isV4
        let type = Int32(SOCK_RAW.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let fd = try syscall("socket(\(ipv4 ? "AF_INET" : "AF_INET6"), SOCK_RAW)") {
            socket(ipv4 ? AF_INET : AF_INET6, type, Int32(ipv4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
        }
        self.descriptor = FileDescriptor(rawValue: fd)
        self.identifier = identifier
        self.source = source
        // Let only echo replies through (a set bit blocks that type); the parser checks again. The option
        // numbers are ICMP_FILTER (<linux/icmp.h>) and ICMPV6_FILTER (<linux/icmpv6.h>), both 1, which
        // Swift's Glibc module does not import.
        if ipv4 {
            var blocked = ~UInt32(1 << Self.echoReplyV4)
            _ = try syscall("setsockopt(ICMP_FILTER)") { setsockopt(fd, SOL_RAW, 1, &blocked, 4) }
        } else {
            var blocked = [UInt32](repeating: ~0, count: 8)
            blocked[Int(Self.echoReplyV6 >> 5)] &= ~(1 << (Self.echoReplyV6 & 31))
            _ = try syscall("setsockopt(ICMPV6_FILTER)") {
                setsockopt(fd, Int32(IPPROTO_ICMPV6), 1, &blocked, 32)
            }
        }
        _ = try syscall("bind raw ICMP socket to \(source)") {
            Self.withSocketAddress(source) { bind(fd, $0, $1) }
        }
    }

    deinit { receiveBuffer.deallocate() }

    public func close() { descriptor.close() }

    /// Sends one echo request to `target` (of `source`'s family); returns errno (0 on success). Never blocks.
    @discardableResult
    public func send(sequence: UInt16, to target: IPAddress, payload: [UInt8] = []) -> Int32 {
        guard target.isV4 == source.isV4 else { return EAFNOSUPPORT }
        // The kernel fills in the ICMPv6 checksum (it covers a pseudo-header we do not build).
        let message = Self.echoMessage(
            type: source.isV4 ? Self.echoRequestV4 : Self.echoRequestV6, identifier: identifier,
            sequence: sequence, payload: payload, checksummed: source.isV4)
        let n = Self.withSocketAddress(target) { address, length in
            message.withUnsafeBytes {
                sendto(descriptor.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), address, length)
            }
        }
        return n < 0 ? errno : 0
    }

    /// Allocated once. Only the headers matter, but the whole IPv4 message is read to verify its checksum.
    private let receiveBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    private let receiveLock = PThreadMutex()

    /// Datagrams one ``receive()`` reads at most, matching or not: a flood of foreign ICMP on the socket
    /// must not keep the caller (the gateway's loop) inside it.
    public static let readsPerCall = 64

    /// Reads waiting datagrams until one is an echo reply with our identifier; nil once none is waiting or
    /// after ``readsPerCall`` reads. `payload` is what the request carried (room for a longer sequence
    /// number or a nonce).
    public func receive() -> (sequence: UInt16, from: IPAddress, payload: [UInt8])? {
        receiveLock.withLock {
            for _ in 0..<Self.readsPerCall {
                var storage = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(
                            descriptor.rawValue, receiveBuffer.baseAddress, receiveBuffer.count,
                            Int32(MSG_DONTWAIT), $0, &length)
                    }
                }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { return nil }
                let bytes = UnsafeRawBufferPointer(rebasing: receiveBuffer[0..<n])
                if let reply = Self.parseReplyHeader(bytes, ipv4: source.isV4, identifier: identifier) {
                    return (reply.sequence, Self.address(storage), Array(bytes[reply.payloadStart...]))
                }
            }
            return nil
        }
    }

    /// Waits up to `milliseconds` for a datagram; true if one is ready.
    public func waitReadable(milliseconds: Int32) -> Bool {
        var p = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, milliseconds) > 0
    }

    // MARK: - Wire format

    static let echoRequestV4: UInt8 = 8
    static let echoReplyV4: UInt8 = 0
    static let echoRequestV6: UInt8 = 128
    static let echoReplyV6: UInt8 = 129

    /// The sequence number of an echo reply carrying `identifier`, or nil for anything else. `bytes` is
    /// what a raw socket read: for IPv4 the IP header comes first, and the ICMP checksum is checked here
    /// (the kernel checks ICMPv6's before delivery). Untrusted input: every length is checked.
    public static func parseReply(_ bytes: UnsafeRawBufferPointer, ipv4: Bool, identifier: UInt16) -> UInt16? {
        parseReplyHeader(bytes, ipv4: ipv4, identifier: identifier)?.sequence
    }

    /// ``parseReply(_:ipv4:identifier:)`` that also says where the echoed payload starts.
    static func parseReplyHeader(
        _ bytes: UnsafeRawBufferPointer, ipv4: Bool, identifier: UInt16
    ) -> (sequence: UInt16, payloadStart: Int)? {
        var offset = 0
        if ipv4 {
            guard bytes.count >= 20, bytes[0] >> 4 == 4, bytes[9] == UInt8(IPPROTO_ICMP) else { return nil }
            offset = Int(bytes[0] & 0x0f) * 4
            guard offset >= 20 else { return nil }
        }
        guard bytes.count - offset >= 8, bytes[offset] == (ipv4 ? echoReplyV4 : echoReplyV6),
            bytes[offset + 1] == 0, load16(bytes, offset + 4) == identifier
        else { return nil }
        if ipv4 && checksum(UnsafeRawBufferPointer(rebasing: bytes[offset...])) != 0 { return nil }
        return (load16(bytes, offset + 6), offset + 8)
    }

    /// An ICMP echo message: type, code 0, checksum (when `checksummed`, else 0), identifier, sequence, payload.
    static func echoMessage(
        type: UInt8, identifier: UInt16, sequence: UInt16, payload: [UInt8], checksummed: Bool
    ) -> [UInt8] {
        var message: [UInt8] = [type, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff)]
        message += [UInt8(sequence >> 8), UInt8(sequence & 0xff)] + payload
        if checksummed {
            let sum = message.withUnsafeBytes { checksum($0) }
            message[2] = UInt8(sum >> 8)
            message[3] = UInt8(sum & 0xff)
        }
        return message
    }

    /// The RFC 1071 Internet checksum; 0 over a message whose checksum field is correct.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    private static func load16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    // MARK: - Socket addresses (port 0: raw sockets have none)

    /// Calls `body` with `address` as a `sockaddr_in` (IPv4; ``SocketAddress`` only makes v4-mapped
    /// `sockaddr_in6`, which an AF_INET socket refuses) or a `sockaddr_in6`.
    private static func withSocketAddress<R>(
        _ address: IPAddress, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) -> R {
        switch address {
        case .v4(let a):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = a.value.bigEndian
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6:
            var sa = SocketAddress.make(Endpoint(address: address, port: 0))
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    private static func address(_ storage: sockaddr_storage) -> IPAddress {
        var storage = storage
        return withUnsafeBytes(of: &storage) { raw in
            if raw.load(as: sa_family_t.self) == sa_family_t(AF_INET) {
                let sa = raw.loadUnaligned(as: sockaddr_in.self)
                return .v4(IPv4Address(value: UInt32(bigEndian: sa.sin_addr.s_addr)))
            }
            return SocketAddress.endpoint(raw.loadUnaligned(as: sockaddr_in6.self)).address
        }
    }
}
