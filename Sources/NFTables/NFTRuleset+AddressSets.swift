public import NetworkTypes
internal import Policy

extension NFTRuleset.NamedSet {
    /// An interval set of addresses of `family` covering `prefixes` (merged where they touch), as
    /// `nft add set … { type ipv4_addr; flags interval; }` holds them: each range's start, and the first
    /// address after it as an interval end (none when the range runs to the family's last address).
    static func addresses(named name: String, family: AddressFamily, covering prefixes: [IPPrefix]) -> Self {
        var ranges = AddressRanges()
        for prefix in prefixes { ranges.insert(prefix) }
        var elements: [NFTRuleset.Element] = []
        for range in ranges.ranges(family) {
            elements.append(NFTRuleset.Element(key: PolicyRuleset.bigEndian(range.lowerBound, bytes: family.byteCount)))
            if range.upperBound < family.maximum {
                elements.append(
                    NFTRuleset.Element(
                        key: PolicyRuleset.bigEndian(range.upperBound + 1, bytes: family.byteCount), isIntervalEnd: true
                    ))
            }
        }
        return NFTRuleset.NamedSet(
            name: name, keyType: family == .ipv4 ? .ipv4Address : .ipv6Address, isInterval: true, elements: elements)
    }
}
