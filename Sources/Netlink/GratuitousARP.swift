public import NetworkTypes

/// Announces that an IPv4 address now lives at a hardware address: an RFC 5227 §2.3 ARP announcement
/// (a broadcast ARP request whose sender and target protocol addresses are both the address).
///
/// Hosts and switches on the segment that already know the address update their caches at once, which is
/// what moves traffic to a new primary gateway after a failover (keepalived does the same). Linux updates an
/// existing neighbour entry from it; it does not create new ones unless `arp_accept` is set.
public enum GratuitousARP {
    /// Sends one announcement out of interface `interfaceIndex` through an `AF_PACKET` datagram socket.
    /// Callers usually repeat it a few times (RFC 5227 ANNOUNCE_NUM is 2, ANNOUNCE_INTERVAL 2 s).
    ///
    /// - Parameters:
    ///   - hardwareAddress: the interface's six-byte MAC (``Link/hardwareAddress``), the ARP sender.
    ///   - namespace: the `ip netns` name to send in; nil for the current namespace.
    public static func announce(
        address: IPv4Address, interfaceIndex: Int32, hardwareAddress: [UInt8], inNamespace namespace: String? = nil
    ) throws(NetlinkError) {
        guard hardwareAddress.count == 6 else {
            throw .invalidArgument("gratuitous ARP needs a 6-byte hardware address, got \(hardwareAddress.count)")
        }
        let (a, b, c, d) = address.octets
        let protocolAddress = [a, b, c, d]
        // RFC 826 packet for Ethernet/IPv4: htype 1, ptype 0x0800, hlen 6, plen 4, oper 1 (request).
        let packet: [UInt8] =
            [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]
            + hardwareAddress + protocolAddress  // sender
            + [UInt8](repeating: 0, count: 6) + protocolAddress  // target: hardware ignored (zero), IP = sender
        let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        try PacketSocket.send(
            packet, etherType: 0x0806, to: broadcast, interfaceIndex: interfaceIndex, namespace: namespace,
            operation: "gratuitous ARP for \(address) on interface \(interfaceIndex)")
    }
}
