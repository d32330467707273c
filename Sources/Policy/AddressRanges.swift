public import NetworkTypes

/// The two address families a policy speaks of; each has its own number line.
public enum AddressFamily: Sendable, Hashable, CaseIterable {
    case ipv4, ipv6

    /// The highest address of the family as a number.
    public var maximum: UInt128 { self == .ipv4 ? UInt128(UInt32.max) : UInt128.max }
    /// Address width in bytes.
    public var byteCount: Int { self == .ipv4 ? 4 : 16 }
}

extension IPAddress {
    /// The address as a number on its family's line.
    public var numericValue: UInt128 {
        switch self {
        case .v4(let address): UInt128(address.value)
        case .v6(let address): UInt128(address.high) << 64 | UInt128(address.low)
        }
    }

    public var family: AddressFamily { isV4 ? .ipv4 : .ipv6 }

    /// The address of `family` whose number is `value` (which must fit the family).
    public init(family: AddressFamily, numericValue value: UInt128) {
        switch family {
        case .ipv4: self = .v4(IPv4Address(value: UInt32(truncatingIfNeeded: value)))
        case .ipv6:
            self = .v6(
                IPv6Address(high: UInt64(truncatingIfNeeded: value >> 64), low: UInt64(truncatingIfNeeded: value)))
        }
    }
}

/// A set of addresses as sorted, disjoint, non-adjacent ranges per family: what a host name, group, tag,
/// ipset or `*` stands for once resolved.
public struct AddressRanges: Sendable, Hashable {
    public private(set) var ipv4: [ClosedRange<UInt128>] = []
    public private(set) var ipv6: [ClosedRange<UInt128>] = []

    public init() {}

    /// Every address of both families (`*`).
    public static let everything: AddressRanges = {
        var all = AddressRanges()
        all.insert(family: .ipv4, 0...AddressFamily.ipv4.maximum)
        all.insert(family: .ipv6, 0...AddressFamily.ipv6.maximum)
        return all
    }()

    public init(_ prefix: IPPrefix) {
        insert(prefix)
    }

    public var isEmpty: Bool { ipv4.isEmpty && ipv6.isEmpty }

    public func ranges(_ family: AddressFamily) -> [ClosedRange<UInt128>] { family == .ipv4 ? ipv4 : ipv6 }

    /// The number of addresses covered is not needed; the number of ranges is what sizes the kernel maps.
    public var rangeCount: Int { ipv4.count + ipv6.count }

    public mutating func insert(_ prefix: IPPrefix) {
        let family = prefix.address.family
        let bits = prefix.address.bitLength - prefix.length
        let base = prefix.canonical.address.numericValue
        let span: UInt128 = bits >= 128 ? .max : (UInt128(1) << bits) - 1
        insert(family: family, base...(base + span))
    }

    public mutating func insert(family: AddressFamily, _ range: ClosedRange<UInt128>) {
        if family == .ipv4 { Self.merge(range, into: &ipv4) } else { Self.merge(range, into: &ipv6) }
    }

    public mutating func formUnion(_ other: AddressRanges) {
        for range in other.ipv4 { Self.merge(range, into: &ipv4) }
        for range in other.ipv6 { Self.merge(range, into: &ipv6) }
    }

    public func contains(_ address: IPAddress) -> Bool {
        let ranges = ranges(address.family)
        let value = address.numericValue
        // The last range starting at or below the value.
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].lowerBound <= value { low = middle + 1 } else { high = middle }
        }
        return low > 0 && ranges[low - 1].contains(value)
    }

    /// The lowest address in the set, IPv4 first.
    public var first: IPAddress? {
        if let range = ipv4.first { return IPAddress(family: .ipv4, numericValue: range.lowerBound) }
        if let range = ipv6.first { return IPAddress(family: .ipv6, numericValue: range.lowerBound) }
        return nil
    }

    /// Inserts keeping the list sorted, disjoint and with adjacent ranges joined. Appending in order (the
    /// common case when a large ipset is read) costs O(1).
    private static func merge(_ range: ClosedRange<UInt128>, into ranges: inout [ClosedRange<UInt128>]) {
        if let last = ranges.last, last.upperBound < range.lowerBound {
            if last.upperBound &+ 1 == range.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound...range.upperBound
            } else {
                ranges.append(range)
            }
            return
        }
        if ranges.isEmpty {
            ranges.append(range)
            return
        }
        // General case: find every range that overlaps or touches, replace them with their union.
        var lower = range.lowerBound
        var upper = range.upperBound
        var kept: [ClosedRange<UInt128>] = []
        kept.reserveCapacity(ranges.count + 1)
        var inserted = false
        for existing in ranges {
            let touchesBelow = existing.upperBound == .max || existing.upperBound + 1 >= lower
            let touchesAbove = upper == .max || existing.lowerBound <= upper + 1
            if touchesBelow && touchesAbove {
                lower = min(lower, existing.lowerBound)
                upper = max(upper, existing.upperBound)
            } else if existing.upperBound < lower {
                kept.append(existing)
            } else {
                if !inserted {
                    kept.append(lower...upper)
                    inserted = true
                }
                kept.append(existing)
            }
        }
        if !inserted { kept.append(lower...upper) }
        ranges = kept
    }
}
