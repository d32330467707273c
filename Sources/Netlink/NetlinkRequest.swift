/// One change to kernel state, for ``RouteNetlink/apply(_:)``. Its `description` is the operation name that
/// errors carry.
public enum NetlinkRequest: Sendable, Hashable, CustomStringConvertible {
    /// Sets or clears `IFF_UP` on an interface (`RTM_NEWLINK`).
    case setLinkUp(index: Int32, up: Bool)
    /// Sets an interface's MTU in bytes (`RTM_NEWLINK` with `IFLA_MTU`).
    case setMTU(index: Int32, mtu: Int)
    /// Adds an address (`RTM_NEWADDR`). With `replace`, an existing equal address is updated in place
    /// (its lifetime refreshed) instead of failing with `EEXIST`. IPv6 addresses skip duplicate address
    /// detection (`IFA_F_NODAD`) so they are usable at once. A nil `lifetime` means forever.
    case addAddress(InterfaceAddress, replace: Bool, lifetime: AddressLifetime?)
    /// Removes an address (`RTM_DELADDR`).
    case deleteAddress(InterfaceAddress)
    /// Adds or replaces the route with the same table, destination and metric (`RTM_NEWROUTE` with
    /// `NLM_F_CREATE | NLM_F_REPLACE`).
    case replaceRoute(Route)
    /// Adds a route only when no route (of any owner) has its table, destination and metric
    /// (`RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL`); otherwise the kernel answers `EEXIST`.
    case addRoute(Route)
    /// Removes the route with this destination and table, matching its protocol, and its interface,
    /// gateway and metric when given (`RTM_DELROUTE`). Protocol 0 matches any owner.
    case deleteRoute(Route)

    public var description: String {
        switch self {
        case .setLinkUp(let index, let up): "set link \(index) \(up ? "up" : "down")"
        case .setMTU(let index, let mtu): "set link \(index) mtu \(mtu)"
        case .addAddress(let address, let replace, let lifetime):
            "\(replace ? "replace" : "add") address \(address)" + (lifetime.map { " \($0)" } ?? "")
        case .deleteAddress(let address): "delete address \(address)"
        case .replaceRoute(let route): "replace route \(route)"
        case .addRoute(let route): "add route \(route)"
        case .deleteRoute(let route): "delete route \(route)"
        }
    }
}
