import CLinuxShims
import Glibc

/// A layer-3 TUN device (`IFF_TUN | IFF_NO_PI`): each read returns one IP packet, each write injects one.
///
/// The device lives as long as this object keeps its descriptor open.
public final class TunDevice: @unchecked Sendable {
    public let name: String
    public let descriptor: FileDescriptor

    /// True when every read and write carries a 10-byte virtio-net header and the kernel may hand us
    /// TCP super-packets (TSO) with partial checksums.
    public let hasOffloads: Bool

    /// Length of the virtio-net header that precedes packets when ``hasOffloads`` is on.
    public static let virtioHeaderSize = 10

    /// Creates (or attaches to) the TUN interface `name`. With `offloads`, asks for `IFF_VNET_HDR` and
    /// TCP segmentation offload (IPv4 and IPv6) plus checksum offload.
    public init(name: String, offloads: Bool = false) throws(SystemError) {
        var out = [CChar](repeating: 0, count: Int(IFNAMSIZ))
        var flags = Int16(IFF_TUN | IFF_NO_PI)
        if offloads { flags |= Int16(IFF_VNET_HDR) }
        let fd = try checkShim("open TUN \(name)", CLinuxShims_tun_open(name, flags, &out))
        self.descriptor = FileDescriptor(rawValue: fd)
        self.name = String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if offloads {
            _ = try checkShim(
                "TUNSETVNETHDRSZ", CLinuxShims_tun_set_vnet_hdr_size(fd, Int32(TunDevice.virtioHeaderSize)))
            _ = try checkShim(
                "TUNSETOFFLOAD", CLinuxShims_tun_set_offload(fd, UInt32(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)))
        }
        self.hasOffloads = offloads
        try descriptor.setNonBlocking()
    }

    /// Reads one packet into `buffer`; nil when none is waiting (EAGAIN).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        while true {
            let n = Glibc.read(descriptor.rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw SystemError("read \(name)", errno: code)
        }
    }

    /// Writes one packet. A full queue drops the packet (returns false), as a real link would.
    @discardableResult
    public func write(_ packet: UnsafeRawBufferPointer) throws(SystemError) -> Bool {
        while true {
            let n = Glibc.write(descriptor.rawValue, packet.baseAddress, packet.count)
            if n >= 0 { return true }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS { return false }
            // EINVAL/EIO here mean a malformed packet or a link going down; not fatal for the loop.
            throw SystemError("write \(name)", errno: code)
        }
    }

    public func close() { descriptor.close() }

    /// The interface's current MTU.
    public func mtu() throws(SystemError) -> Int {
        Int(try checkShim("SIOCGIFMTU \(name)", CLinuxShims_get_mtu(name)))
    }

    /// Sets the interface's MTU.
    public func setMTU(_ mtu: Int) throws(SystemError) {
        _ = try checkShim("SIOCSIFMTU \(name)", CLinuxShims_set_mtu(name, Int32(mtu)))
    }
}
