// The packets the policy and the input baseline drop reach us through NFLOG (nfnetlink_log): the rule
// `limit rate 5/second log group G prefix "deny forward"` copies the first bytes of each, rate-limited
// in the kernel, to whoever subscribed to group G in the namespace. Messages are parsed here by hand:
// a netlink header, `struct nfgenmsg`, then attributes (linux/netfilter/nfnetlink_log.h).

internal import CLibNFTNL
internal import Glibc
internal import Netlink
public import NetworkTypes

/// A dropped packet as NFLOG reports it: which rule logged it (its prefix) and the flow it belongs to.
public struct DeniedPacket: Sendable, Hashable, CustomStringConvertible {
    /// The log rule's prefix: ``PolicyRuleset/denyLogPrefix`` or ``GatewayFirewall/denyLogPrefix``.
    public var prefix: String
    public var source: IPAddress
    public var destination: IPAddress
    public var protocolNumber: UInt8
    /// The destination port for TCP, UDP and SCTP; nil for other protocols (or a fragment without it).
    public var port: UInt16?

    public var description: String {
        "\(prefix): \(source) → \(destination)\(port.map { ":\($0)" } ?? "") protocol \(protocolNumber)"
    }

    /// Parses the IP header (and the first bytes of the transport header) NFLOG copied.
    public static func parse(prefix: String, packet: [UInt8]) -> DeniedPacket? {
        guard let first = packet.first else { return nil }
        let source: IPAddress
        let destination: IPAddress
        let protocolNumber: UInt8
        var transport: Int?
        switch first >> 4 {
        case 4:
            guard packet.count >= 20 else { return nil }
            let headerBytes = Int(first & 0x0F) * 4
            source = .v4(IPv4Address(value: Self.u32(packet, 12)))
            destination = .v4(IPv4Address(value: Self.u32(packet, 16)))
            protocolNumber = packet[9]
            // Only the first fragment carries the ports.
            let fragmentOffset = (UInt16(packet[6]) << 8 | UInt16(packet[7])) & 0x1FFF
            if fragmentOffset == 0, headerBytes >= 20 { transport = headerBytes }
        case 6:
            guard packet.count >= 40 else { return nil }
            source = .v6(IPv6Address(high: Self.u64(packet, 8), low: Self.u64(packet, 16)))
            destination = .v6(IPv6Address(high: Self.u64(packet, 24), low: Self.u64(packet, 32)))
            protocolNumber = packet[6]  // the next header; extension headers are not followed
            transport = 40
        default:
            return nil
        }
        var port: UInt16?
        if [6, 17, 132].contains(protocolNumber), let offset = transport, packet.count >= offset + 4 {
            port = UInt16(packet[offset + 2]) << 8 | UInt16(packet[offset + 3])
        }
        return DeniedPacket(
            prefix: prefix, source: source, destination: destination, protocolNumber: protocolNumber, port: port)
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }

    static func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) }
    }
}

/// A subscription to one NFLOG group in the calling thread's network namespace.
/// Handed to one reader thread after `init`, which alone uses it from then on.
public final class DeniedPacketLog: @unchecked Sendable {
    private let transport: NetlinkTransport
    public let group: UInt16

    // linux/netfilter/nfnetlink.h and nfnetlink_log.h
    static let subsystemULOG: UInt16 = 4  // NFNL_SUBSYS_ULOG
    static let messagePacket: UInt16 = 0  // NFULNL_MSG_PACKET
    static let messageConfig: UInt16 = 1  // NFULNL_MSG_CONFIG
    static let attributeConfigCommand: UInt16 = 1  // NFULA_CFG_CMD
    static let attributeConfigMode: UInt16 = 2  // NFULA_CFG_MODE
    static let attributePayload: UInt16 = 9  // NFULA_PAYLOAD
    static let attributePrefix: UInt16 = 10  // NFULA_PREFIX
    static let commandBind: UInt8 = 1  // NFULNL_CFG_CMD_BIND
    static let copyPacket: UInt8 = 2  // NFULNL_COPY_PACKET
    /// Bytes of each packet copied: an IPv6 header and the start of the transport header.
    static let copyRange: UInt32 = 64

    /// Binds group `group`, asking for the first ``copyRange`` bytes of each packet.
    ///
    /// - Throws: ``NFTablesError`` (EBUSY when another process has the group).
    public init(group: UInt16) throws(NFTablesError) {
        do {
            transport = try NetlinkTransport(.netfilter)
        } catch {
            throw .socket(operation: "open netlink socket (NFLOG)", errno: error.errno ?? EIO)
        }
        self.group = group
        var command: [UInt8] = []
        Self.appendAttribute(&command, type: Self.attributeConfigCommand, [Self.commandBind])
        try configure(command, operation: "NFLOG bind group \(group)")
        var mode: [UInt8] = []
        let range = Self.copyRange
        let modeValue: [UInt8] = [
            UInt8(range >> 24), UInt8((range >> 16) & 0xFF), UInt8((range >> 8) & 0xFF), UInt8(range & 0xFF),
            Self.copyPacket, 0,
        ]
        Self.appendAttribute(&mode, type: Self.attributeConfigMode, modeValue)
        try configure(mode, operation: "NFLOG copy mode for group \(group)")
    }

    /// One NFULNL_MSG_CONFIG request for our group with `attributes`, acknowledged.
    private func configure(_ attributes: [UInt8], operation: String) throws(NFTablesError) {
        let sequence = transport.takeSequences(1)
        let length = NetlinkTransport.headerBytes + 4 + attributes.count
        var message = [UInt8](repeating: 0, count: length)
        Self.store32(&message, 0, UInt32(length))
        Self.store16(&message, 4, Self.subsystemULOG << 8 | Self.messageConfig)
        Self.store16(&message, 6, UInt16(NLM_F_REQUEST | NLM_F_ACK))
        Self.store32(&message, 8, sequence)
        // struct nfgenmsg: family AF_UNSPEC, version NFNETLINK_V0, res_id = the group, big-endian.
        message[16] = 0
        message[17] = 0
        message[18] = UInt8(group >> 8)
        message[19] = UInt8(group & 0xFF)
        message.replaceSubrange(20..<length, with: attributes)
        let failure = message.withUnsafeBytes { raw -> NetlinkError? in
            do throws(NetlinkError) {
                try transport.send(raw, operation: operation)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw .socket(operation: operation, errno: failure.errno ?? EIO) }
        var code: Int32?
        while code == nil {
            let datagram: UnsafeRawBufferPointer?
            do {
                datagram = try transport.receive(operation: operation, timeoutMilliseconds: 5000)
            } catch {
                throw .socket(operation: operation, errno: error.errno ?? EIO)
            }
            guard let datagram else { throw .missingAcknowledgement(operation: operation) }
            NetlinkTransport.forEachMessage(in: datagram) { start, _ in
                let header = NetlinkTransport.MessageHeader(start)
                guard header.sequence == sequence, header.type == UInt16(NLMSG_ERROR) else { return }
                code = -start.loadUnaligned(fromByteOffset: NetlinkTransport.headerBytes, as: Int32.self)
            }
        }
        if let code, code != 0 { throw .request(operation: operation, errno: code) }
    }

    /// Waits up to `timeoutMilliseconds` for logged packets and returns those that arrived (empty on
    /// timeout). Messages that do not parse are skipped.
    public func receive(timeoutMilliseconds: Int32) throws(NFTablesError) -> [DeniedPacket] {
        let datagram: UnsafeRawBufferPointer?
        do {
            datagram = try transport.receive(operation: "NFLOG receive", timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            // ENOBUFS: the kernel dropped log messages we were too slow for; the next receive goes on.
            if error.errno == ENOBUFS { return [] }
            throw .socket(operation: "NFLOG receive", errno: error.errno ?? EIO)
        }
        guard let datagram else { return [] }
        var packets: [DeniedPacket] = []
        NetlinkTransport.forEachMessage(in: datagram) { start, length in
            let header = NetlinkTransport.MessageHeader(start)
            guard header.type == Self.subsystemULOG << 8 | Self.messagePacket else { return }
            let bytes = Array(UnsafeRawBufferPointer(start: start, count: Int(length)))
            if let packet = Self.parseMessage(bytes) { packets.append(packet) }
        }
        return packets
    }

    /// A whole NFULNL_MSG_PACKET message (header included) → the packet, if it has a payload.
    static func parseMessage(_ bytes: [UInt8]) -> DeniedPacket? {
        var offset = NetlinkTransport.headerBytes + 4
        var prefix = ""
        var payload: [UInt8]?
        while offset + 4 <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            let type = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3FFF
            guard length >= 4, offset + length <= bytes.count else { break }
            let value = Array(bytes[(offset + 4)..<(offset + length)])
            if type == attributePrefix { prefix = String(decoding: value.prefix { $0 != 0 }, as: UTF8.self) }
            if type == attributePayload { payload = value }
            offset += (length + 3) & ~3
        }
        guard let payload else { return nil }
        return DeniedPacket.parse(prefix: prefix, packet: payload)
    }

    static func appendAttribute(_ bytes: inout [UInt8], type: UInt16, _ value: [UInt8]) {
        let length = 4 + value.count
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(type & 0xFF), UInt8(type >> 8)] + value
        bytes += [UInt8](repeating: 0, count: (4 - length % 4) % 4)
    }

    static func store16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value & 0xFF)
        bytes[offset + 1] = UInt8(value >> 8)
    }

    static func store32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[offset + index] = UInt8((value >> (8 * UInt32(index))) & 0xFF) }
    }
}
