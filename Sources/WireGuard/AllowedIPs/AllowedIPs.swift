public import NetworkTypes

/// The cryptokey routing table of WireGuard (whitepaper §3): maps IP prefixes to values (normally
/// peers) and finds the value whose prefix is the longest match for an address.
///
/// Outgoing packets are sent to the peer found by looking up their destination address; incoming
/// packets are accepted from a peer only if looking up their source address finds that same peer.
///
/// Each family has its own path-compressed binary trie (see `PrefixTrie`). Prefixes are stored in
/// canonical form (host bits cleared), and each prefix maps to one value: inserting a prefix that is
/// already present moves it to the new value, as WireGuard does. The table holds its values strongly
/// until their prefixes are removed.
///
/// Lookups allocate nothing; `lookupV4(_:)` and `lookupV6(high:low:)` take raw header fields for the
/// packet path. Listing and removing by value walk the whole table, which suits configuration changes.
///
/// - Important: Not thread-safe. The caller must serialize every access, lookups included, for
///   example by confining the table to one thread or guarding it with a lock.
public final class AllowedIPs<Value: AnyObject> {
    private var v4 = PrefixTrie<UInt32, Value>()
    private var v6 = PrefixTrie<UInt128, Value>()

    /// Creates an empty table.
    public init() {}

    /// The number of prefixes in the table, both families together.
    public var count: Int {
        v4.count + v6.count
    }

    /// Maps the canonical form of `prefix` to `value`, moving it from any value it had before.
    public func insert(_ prefix: IPPrefix, value: Value) {
        switch prefix.address {
        case .v4(let address): v4.insert(address.value, length: prefix.length, value: value)
        case .v6(let address): v6.insert(Self.key(address), length: prefix.length, value: value)
        }
    }

    /// Removes the canonical form of `prefix`, whatever its value; does nothing if it is absent.
    /// Longer and shorter prefixes are not affected.
    public func remove(_ prefix: IPPrefix) {
        switch prefix.address {
        case .v4(let address): v4.remove(address.value, length: prefix.length)
        case .v6(let address): v6.remove(Self.key(address), length: prefix.length)
        }
    }

    /// Removes every prefix whose value is the object `value` (compared with `===`).
    public func removeAll(for value: Value) {
        v4.removeAll(identicalTo: value)
        v6.removeAll(identicalTo: value)
    }

    /// The prefixes whose value is the object `value` (compared with `===`), sorted with IPv4 first.
    public func prefixes(for value: Value) -> [IPPrefix] {
        var result: [IPPrefix] = []
        v4.forEach { key, length, stored in
            guard stored === value,
                let prefix = IPPrefix(address: .v4(IPv4Address(value: key)), length: length)
            else { return }
            result.append(prefix)
        }
        v6.forEach { key, length, stored in
            guard stored === value, let prefix = IPPrefix(address: .v6(Self.address(key)), length: length)
            else { return }
            result.append(prefix)
        }
        return result.sorted()
    }

    /// The value of the longest prefix containing `address`, or `nil` if no prefix contains it.
    public func lookup(_ address: IPAddress) -> Value? {
        switch address {
        case .v4(let v4Address): v4.lookup(v4Address.value)
        case .v6(let v6Address): v6.lookup(Self.key(v6Address))
        }
    }

    /// The value of the longest IPv4 prefix containing `address`, given in host byte order (so
    /// 10.0.0.1 is `0x0A00_0001`), or `nil`. Allocation-free.
    public func lookupV4(_ address: UInt32) -> Value? {
        v4.lookup(address)
    }

    /// The value of the longest IPv6 prefix containing the address whose big-endian halves are
    /// `high` (bytes 0-7) and `low` (bytes 8-15), or `nil`. Allocation-free.
    public func lookupV6(high: UInt64, low: UInt64) -> Value? {
        v6.lookup(UInt128(high) << 64 | UInt128(low))
    }

    /// Describes the first structural invariant either trie breaks, or returns `nil`. For tests.
    func invariantViolation() -> String? {
        v4.invariantViolation().map { "IPv4: \($0)" } ?? v6.invariantViolation().map { "IPv6: \($0)" }
    }

    private static func key(_ address: IPv6Address) -> UInt128 {
        UInt128(address.high) << 64 | UInt128(address.low)
    }

    private static func address(_ key: UInt128) -> IPv6Address {
        IPv6Address(high: UInt64(truncatingIfNeeded: key >> 64), low: UInt64(truncatingIfNeeded: key))
    }
}

/// `AllowedIPs` is mutable shared state without internal locking; the caller serializes access.
@available(*, unavailable)
extension AllowedIPs: Sendable {}
