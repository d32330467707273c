internal import CLibMNL
import Glibc

extension RouteNetlink {
    /// Every interface in the socket's namespace (an `RTM_GETLINK` dump), in kernel order.
    public func links() throws(NetlinkError) -> [Link] {
        try dump(operation: "list links") { header in
            header.pointee.nlmsg_type = UInt16(RTM_GETLINK)
            var info = ifinfomsg()
            info.ifi_family = UInt8(AF_UNSPEC)
            header.putFamilyHeader(info)
        } parse: { message throws(NetlinkError) in
            try Self.parseLink(message)
        }
    }

    /// The interface called `name`, or nil when there is none (an `RTM_GETLINK` for `IFLA_IFNAME`).
    public func link(named name: String) throws(NetlinkError) -> Link? {
        guard !name.isEmpty, name.utf8.count < 16 else { return nil }  // IFNAMSIZ counts the NUL
        let operation = "get link \(name)"
        var found: Link?
        let answers = try exchange(count: 1, operation: operation) { _, header in
            header.pointee.nlmsg_type = UInt16(RTM_GETLINK)
            var info = ifinfomsg()
            info.ifi_family = UInt8(AF_UNSPEC)
            header.putFamilyHeader(info)
            mnl_attr_put_strz(header, UInt16(IFLA_IFNAME), name)
        } reply: { _, message throws(NetlinkError) in
            found = try Self.parseLink(message) ?? found
        }
        switch answers[0] {
        case 0: return found
        case ENODEV: return nil
        case let code: throw .request(op: operation, errno: code)
        }
    }

    /// Sets (`up: true`) or clears the administrative `IFF_UP` flag of interface `index`.
    public func setLinkUp(index: Int32, up: Bool) throws(NetlinkError) {
        try perform(.setLinkUp(index: index, up: up))
    }

    /// Sets the MTU of interface `index` to `mtu` bytes.
    public func setMTU(index: Int32, mtu: Int) throws(NetlinkError) {
        try perform(.setMTU(index: index, mtu: mtu))
    }

    static func parseLink(_ message: ReceivedMessage) throws(NetlinkError) -> Link? {
        guard message.type == UInt16(RTM_NEWLINK) else { return nil }
        guard let info = message.familyHeader(as: ifinfomsg.self) else {
            throw .malformedReply("RTM_NEWLINK shorter than ifinfomsg")
        }
        var name: String?
        var mtu = 0
        var hardwareAddress: [UInt8] = []
        message.forEachAttribute(afterFamilyHeaderOf: MemoryLayout<ifinfomsg>.size) { type, payload in
            switch Int(type) {
            case Int(IFLA_IFNAME): name = payload.netlinkString
            case Int(IFLA_MTU): mtu = payload.netlinkUInt32.map(Int.init) ?? 0
            case Int(IFLA_ADDRESS): hardwareAddress = Array(payload)
            default: break
            }
        }
        guard let name else { throw .malformedReply("RTM_NEWLINK for index \(info.ifi_index) without IFLA_IFNAME") }
        return Link(
            index: info.ifi_index, name: name, mtu: mtu, isUp: info.ifi_flags & UInt32(IFF_UP) != 0,
            hasCarrier: info.ifi_flags & interfaceFlagLowerUp != 0, hardwareAddress: hardwareAddress)
    }
}
