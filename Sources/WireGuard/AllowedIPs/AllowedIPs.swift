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
/// packet path. An index from each value to its prefixes makes listing and removing by value cost the
/// value's own prefixes, not the table's: with 10,000 peers, a `get=1` or removing them all stays linear.
///
/// - Important: Not thread-safe. The caller must serialize every access, lookups included, for
///   example by confining the table to one thread or guarding it with a lock.
public final class AllowedIPs<Value: AnyObject> {
    private var v4 = PrefixTrie<UInt32, Value>()
    private var v6 = PrefixTrie<UInt128, Value>()
    /// Canonical prefix → the value holding it, and value → its canonical prefixes.
    private var owners: [IPPrefix: ObjectIdentifier] = [:]
    private var byValue: [ObjectIdentifier: Set<IPPrefix>] = [:]

    /// Creates an empty table.
    public init() {}

    /// The number of prefixes in the table, both families together.
    public var count: Int {
        v4.count + v6.count
    }

    /// Maps the canonical form of `prefix` to `value`, moving it from any value it had before.
    public func insert(_ prefix: IPPrefix, value: Value) {
        let canonical = prefix.canonical
        let id = ObjectIdentifier(value)
        if let old = owners.updateValue(id, forKey: canonical), old != id { forget(canonical, of: old) }
        byValue[id, default: []].insert(canonical)
        switch prefix.address {
        case .v4(let address): v4.insert(address.value, length: prefix.length, value: value)
        case .v6(let address): v6.insert(Self.key(address), length: prefix.length, value: value)
        }
    }

    /// Removes the canonical form of `prefix`, whatever its value; does nothing if it is absent.
    /// Longer and shorter prefixes are not affected.
    public func remove(_ prefix: IPPrefix) {
        let canonical = prefix.canonical
        guard let old = owners.removeValue(forKey: canonical) else { return }
        forget(canonical, of: old)
        switch prefix.address {
        case .v4(let address): v4.remove(address.value, length: prefix.length)
        case .v6(let address): v6.remove(Self.key(address), length: prefix.length)
        }
    }

    /// Removes every prefix whose value is the object `value` (compared with `===`).
    public func removeAll(for value: Value) {
        guard let prefixes = byValue.removeValue(forKey: ObjectIdentifier(value)) else { return }
        for prefix in prefixes {
            owners.removeValue(forKey: prefix)
            switch prefix.address {
            case .v4(let address): v4.remove(address.value, length: prefix.length)
            case .v6(let address): v6.remove(Self.key(address), length: prefix.length)
            }
        }
    }

    private func forget(_ prefix: IPPrefix, of id: ObjectIdentifier) {
        byValue[id]?.remove(prefix)
        if byValue[id]?.isEmpty == true { byValue.removeValue(forKey: id) }
    }

    /// The prefixes whose value is the object `value` (compared with `===`), sorted with IPv4 first.
    public func prefixes(for value: Value) -> [IPPrefix] {
        byValue[ObjectIdentifier(value)].map { $0.sorted() } ?? []
    }

    /// Whether `value` holds exactly the canonical form of `prefix`.
    public func contains(_ prefix: IPPrefix, for value: Value) -> Bool {
        owners[prefix.canonical] == ObjectIdentifier(value)
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
        if let violation = v4.invariantViolation() { return "IPv4: \(violation)" }
        if let violation = v6.invariantViolation() { return "IPv6: \(violation)" }
        // The index must list exactly what the tries hold.
        var held = 0
        var mismatch: String?
        func check(_ prefix: IPPrefix?, _ stored: Value) {
            held += 1
            guard mismatch == nil, let prefix else { return }
            if owners[prefix] != ObjectIdentifier(stored) || byValue[ObjectIdentifier(stored)]?.contains(prefix) != true
            {
                mismatch = "index disagrees with the trie at \(prefix)"
            }
        }
        v4.forEach { key, length, stored in
            check(IPPrefix(address: .v4(IPv4Address(value: key)), length: length), stored)
        }
        v6.forEach { key, length, stored in check(IPPrefix(address: .v6(Self.address(key)), length: length), stored) }
        if let mismatch { return mismatch }
        let indexed = byValue.values.reduce(0) { $0 + $1.count }
        if held != owners.count || held != indexed { return "index holds \(owners.count)/\(indexed), tries \(held)" }
        return nil
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
