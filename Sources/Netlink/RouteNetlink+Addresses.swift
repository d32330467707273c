internal import CLibMNL
import Glibc
import NetworkTypes

extension RouteNetlink {
    /// The addresses of `family` on interface `interfaceIndex` (every interface when nil), from an
    /// `RTM_GETADDR` dump. Includes link-local and tentative addresses as the kernel holds them.
    public func addresses(
        family: AddressFamilyFilter = .all, interfaceIndex: Int32? = nil
    ) throws(NetlinkError) -> [InterfaceAddress] {
        let familyByte: UInt8 =
            switch family {
            case .v4: UInt8(AF_INET)
            case .v6: UInt8(AF_INET6)
            case .all: UInt8(AF_UNSPEC)
            }
        return try dump(operation: "list addresses") { header in
            header.pointee.nlmsg_type = UInt16(RTM_GETADDR)
            var info = ifaddrmsg()
            info.ifa_family = familyByte
            header.putFamilyHeader(info)
        } parse: { message throws(NetlinkError) -> InterfaceAddress? in
            guard message.type == UInt16(RTM_NEWADDR) else { return nil }
            guard let info = message.familyHeader(as: ifaddrmsg.self) else {
                throw .malformedReply("RTM_NEWADDR shorter than ifaddrmsg")
            }
            let index = Int32(bitPattern: info.ifa_index)
            guard interfaceIndex == nil || interfaceIndex == index else { return nil }
            guard familyByte == UInt8(AF_UNSPEC) || info.ifa_family == familyByte else { return nil }
            var local: IPAddress?
            var address: IPAddress?
            message.forEachAttribute(afterFamilyHeaderOf: MemoryLayout<ifaddrmsg>.size) { type, payload in
                switch Int(type) {
                case Int(IFA_LOCAL): local = payload.netlinkAddress(family: info.ifa_family)
                case Int(IFA_ADDRESS): address = payload.netlinkAddress(family: info.ifa_family)
                default: break
                }
            }
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links and
            // the only one IPv6 usually sends.
            guard let own = local ?? address else {
                throw .malformedReply("RTM_NEWADDR on index \(index) without an address")
            }
            return InterfaceAddress(interfaceIndex: index, address: own, prefixLength: Int(info.ifa_prefixlen))
        }
    }

    /// Adds `address` (`RTM_NEWADDR`). With `replace`, an equal existing address is updated in place, which
    /// is how a lifetime is refreshed; without it an existing address fails with `EEXIST`. A `lifetime`
    /// makes the kernel delete the address by itself when it runs out. IPv6 addresses are added without
    /// duplicate address detection (`IFA_F_NODAD`).
    public func addAddress(
        _ address: InterfaceAddress, replace: Bool = false, lifetime: AddressLifetime? = nil
    ) throws(NetlinkError) {
        try perform(.addAddress(address, replace: replace, lifetime: lifetime))
    }

    /// Removes `address` (`RTM_DELADDR`); a missing address fails with `EADDRNOTAVAIL`.
    public func deleteAddress(_ address: InterfaceAddress) throws(NetlinkError) {
        try perform(.deleteAddress(address))
    }
}
