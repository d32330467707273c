import CLinuxShims
import Glibc
public import NetworkTypes

/// A small UDP socket for control messages between gateways (hellos, route adverts, probes), bound to one
/// device so that only datagrams that arrived through that interface (our WireGuard overlay, whose
/// cryptokey routing already authenticated the source address) are read.
public final class DatagramSocket: @unchecked Sendable {
    public let descriptor: FileDescriptor

    /// Binds `[::]:port` (IPv4 mapped), or `bindAddress`, restricted to `device` with SO_BINDTODEVICE.
    public init(port: UInt16, device: String?, bindAddress: IPAddress? = nil) throws(SystemError) {
        let fd = try syscall("socket(AF_INET6, SOCK_DGRAM)") {
            socket(AF_INET6, CLinuxShims_SOCK_DGRAM_CLOEXEC_NONBLOCK, 0)
        }
        let descriptor = FileDescriptor(rawValue: fd)
        var off: Int32 = 0
        _ = try syscall("setsockopt(IPV6_V6ONLY)") { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, 4) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, 4)
        if let device {
            let name = Array(device.utf8) + [0]
            _ = try syscall("setsockopt(SO_BINDTODEVICE \(device))") {
                name.withUnsafeBytes {
                    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0.baseAddress, socklen_t($0.count))
                }
            }
        }
        var sa = SocketAddress.make(Endpoint(address: bindAddress ?? .v6(IPv6Address(high: 0, low: 0)), port: port))
        _ = try syscall("bind UDP port \(port)") {
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        self.descriptor = descriptor
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.localPort = UInt16(bigEndian: bound.sin6_port)
    }

    /// The bound port (the kernel's choice when 0 was asked for).
    public let localPort: UInt16

    public func close() { descriptor.close() }

    /// Allows sending to broadcast addresses (SO_BROADCAST).
    public func enableBroadcast() throws(SystemError) {
        var on: Int32 = 1
        _ = try syscall("setsockopt(SO_BROADCAST)") {
            setsockopt(descriptor.rawValue, SOL_SOCKET, SO_BROADCAST, &on, 4)
        }
    }

    /// Sends `bytes` to `endpoint`; returns errno (0 on success). Never blocks.
    @discardableResult
    public func send(_ bytes: [UInt8], to endpoint: Endpoint) -> Int32 {
        var sa = SocketAddress.make(endpoint)
        let n = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bytes.withUnsafeBytes {
                    sendto(
                        descriptor.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), address,
                        socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        return n < 0 ? errno : 0
    }

    /// The largest datagram ``receive()`` reads; longer ones are cut (control messages are far smaller).
    public static let receiveBufferSize = 65536
    /// Allocated once: a fresh zeroed 64 KiB array per call cost more than the rest of an idle loop step.
    private let receiveBuffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: DatagramSocket.receiveBufferSize, alignment: 16)
    private let receiveLock = PThreadMutex()

    deinit { receiveBuffer.deallocate() }

    /// Receives one datagram if one is waiting.
    public func receive() -> (bytes: [UInt8], source: Endpoint)? {
        receiveLock.withLock {
            var sa = sockaddr_in6()
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let n = withUnsafeMutablePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    recvfrom(
                        descriptor.rawValue, receiveBuffer.baseAddress, receiveBuffer.count, Int32(MSG_DONTWAIT),
                        address, &length)
                }
            }
            guard n >= 0 else { return nil }
            return (Array(UnsafeRawBufferPointer(rebasing: receiveBuffer[0..<n])), SocketAddress.endpoint(sa))
        }
    }

    /// Waits up to `milliseconds` for a datagram; true if one is ready.
    public func waitReadable(milliseconds: Int32) -> Bool {
        var p = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, milliseconds) > 0
    }
}

/// Waits up to `milliseconds` until any of `sockets` is readable; true if one is.
public func waitAnyReadable(_ sockets: [DatagramSocket], milliseconds: Int32) -> Bool {
    var fds = sockets.map { pollfd(fd: $0.descriptor.rawValue, events: Int16(POLLIN), revents: 0) }
    return poll(&fds, nfds_t(fds.count), milliseconds) > 0
}

/// The source address the kernel would use toward `endpoint`, or nil when it has no route there: a UDP
/// `connect` does the route lookup without sending anything.
public func routeSource(toward endpoint: Endpoint) -> IPAddress? {
    let fd = socket(AF_INET6, CLinuxShims_SOCK_DGRAM_CLOEXEC_NONBLOCK, 0)
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var off: Int32 = 0
    _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, 4)
    var sa = SocketAddress.make(endpoint)
    let connected = withUnsafePointer(to: &sa) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    }
    guard connected == 0 else { return nil }
    var local = sockaddr_in6()
    var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
    let named = withUnsafeMutablePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { return nil }
    return SocketAddress.endpoint(local).address
}
