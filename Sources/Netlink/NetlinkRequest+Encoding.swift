internal import CLibMNL
import Glibc
import NetworkTypes

// How each request becomes one rtnetlink message. Field choices follow iproute2 (ip/iproute.c,
// ip/ipaddress.c), so the kernel sees what `ip` would have sent for the same command.

/// `IFF_LOWER_UP` (linux/if.h), which glibc's <net/if.h> lacks.
let interfaceFlagLowerUp: UInt32 = 0x1_0000

extension NetlinkRequest {
    /// Throws ``NetlinkError/invalidArgument(_:)`` for values the kernel cannot be asked for, so a batch is
    /// refused before anything of it is sent.
    func checkArguments() throws(NetlinkError) {
        switch self {
        case .setLinkUp:
            break
        case .setMTU(_, let mtu):
            guard mtu > 0, mtu <= Int(UInt32.max) else { throw .invalidArgument("\(self): MTU out of range") }
        case .addAddress(let address, _, _), .deleteAddress(let address):
            guard (0...address.address.bitLength).contains(address.prefixLength) else {
                throw .invalidArgument("\(self): prefix length out of range")
            }
        case .replaceRoute(let route), .deleteRoute(let route), .addRoute(let route):
            if let source = route.source, source.isV4 != route.destination.address.isV4 {
                throw .invalidArgument("\(self): source and destination families differ")
            }
        }
    }

    /// Fills the message `header` (already started with type 0 and `NLM_F_REQUEST | NLM_F_ACK`).
    /// Call ``checkArguments()`` first.
    func encode(into header: UnsafeMutablePointer<nlmsghdr>) {
        switch self {
        case .setLinkUp(let index, let up):
            header.pointee.nlmsg_type = UInt16(RTM_NEWLINK)
            var info = ifinfomsg()
            info.ifi_family = UInt8(AF_UNSPEC)
            info.ifi_index = index
            info.ifi_change = UInt32(IFF_UP)
            info.ifi_flags = up ? UInt32(IFF_UP) : 0
            header.putFamilyHeader(info)

        case .setMTU(let index, let mtu):
            header.pointee.nlmsg_type = UInt16(RTM_NEWLINK)
            var info = ifinfomsg()
            info.ifi_family = UInt8(AF_UNSPEC)
            info.ifi_index = index
            header.putFamilyHeader(info)
            header.putUInt32(IFLA_MTU, UInt32(mtu))

        case .addAddress(let address, let replace, let lifetime):
            header.pointee.nlmsg_type = UInt16(RTM_NEWADDR)
            header.pointee.nlmsg_flags |= UInt16(NLM_F_CREATE) | UInt16(replace ? NLM_F_REPLACE : NLM_F_EXCL)
            encodeAddress(address, into: header, flags: address.address.isV4 ? 0 : UInt32(IFA_F_NODAD))
            if let lifetime {
                var info = ifa_cacheinfo()
                info.ifa_valid = lifetime.validSeconds
                info.ifa_prefered = lifetime.preferredSeconds
                header.putValue(IFA_CACHEINFO, info)
            }

        case .deleteAddress(let address):
            header.pointee.nlmsg_type = UInt16(RTM_DELADDR)
            encodeAddress(address, into: header, flags: 0)

        case .replaceRoute(let route):
            header.pointee.nlmsg_type = UInt16(RTM_NEWROUTE)
            header.pointee.nlmsg_flags |= UInt16(NLM_F_CREATE | NLM_F_REPLACE)
            encodeRoute(route, into: header, deleting: false)

        case .addRoute(let route):
            header.pointee.nlmsg_type = UInt16(RTM_NEWROUTE)
            header.pointee.nlmsg_flags |= UInt16(NLM_F_CREATE | NLM_F_EXCL)
            encodeRoute(route, into: header, deleting: false)

        case .deleteRoute(let route):
            header.pointee.nlmsg_type = UInt16(RTM_DELROUTE)
            encodeRoute(route, into: header, deleting: true)
        }
    }

    private func encodeAddress(_ address: InterfaceAddress, into header: UnsafeMutablePointer<nlmsghdr>, flags: UInt32)
    {
        var info = ifaddrmsg()
        info.ifa_family = address.address.netlinkFamily
        info.ifa_prefixlen = UInt8(address.prefixLength)
        info.ifa_flags = UInt8(truncatingIfNeeded: flags)
        info.ifa_index = UInt32(bitPattern: address.interfaceIndex)
        // As `ip addr add`: 127/8 gets host scope, everything else global (IPv6 derives its own scope).
        if case .v4(let v4) = address.address, v4.value >> 24 == 127 {
            info.ifa_scope = UInt8(RT_SCOPE_HOST.rawValue)
        }
        header.putFamilyHeader(info)
        header.putAddress(IFA_LOCAL, address.address)
        header.putAddress(IFA_ADDRESS, address.address)
        if flags != 0 { header.putUInt32(IFA_FLAGS, flags) }
    }

    private func encodeRoute(_ route: Route, into header: UnsafeMutablePointer<nlmsghdr>, deleting: Bool) {
        let destination = route.destination
        let isV4 = destination.address.isV4
        var info = rtmsg()
        info.rtm_family = destination.address.netlinkFamily
        info.rtm_dst_len = UInt8(destination.length)
        info.rtm_table = route.table < 256 ? UInt8(route.table) : UInt8(RT_TABLE_UNSPEC.rawValue)
        info.rtm_protocol = route.protocolNumber
        if deleting {
            // RT_SCOPE_NOWHERE and RTN_UNSPEC are wildcards for the kernel's match, as `ip route del` sends.
            info.rtm_scope = UInt8(RT_SCOPE_NOWHERE.rawValue)
            info.rtm_type = UInt8(RTN_UNSPEC)
        } else {
            // IPv6 ignores the scope; an IPv4 route without a gateway is on-link.
            let onLink = isV4 && route.gateway == nil
            info.rtm_scope = UInt8(onLink ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue)
            info.rtm_type = UInt8(RTN_UNICAST)
        }
        header.putFamilyHeader(info)
        if destination.length > 0 { header.putAddress(RTA_DST.rawValue, destination.address) }
        header.putUInt32(RTA_TABLE.rawValue, route.table)
        if let index = route.interfaceIndex { header.putUInt32(RTA_OIF.rawValue, UInt32(bitPattern: index)) }
        if let gateway = route.gateway {
            if gateway.isV4 == isV4 {
                header.putAddress(RTA_GATEWAY.rawValue, gateway)
            } else {
                // struct rtvia: a 16-bit address family, then the address.
                let family = UInt16(gateway.netlinkFamily)
                header.putBytes(RTA_VIA.rawValue, withUnsafeBytes(of: family) { Array($0) } + gateway.networkOrderBytes)
            }
        }
        if let metric = route.metric { header.putUInt32(RTA_PRIORITY.rawValue, metric) }
        if let source = route.source { header.putAddress(RTA_PREFSRC.rawValue, source) }
    }
}
