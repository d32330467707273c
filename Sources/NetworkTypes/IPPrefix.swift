/// An IP network prefix such as `10.0.0.0/8` or `fd00::/8`: an address and the number of leading bits
/// that identify the network.
///
/// A prefix keeps whatever host bits it was created with, so `10.1.2.3/8` stays distinct from
/// `10.0.0.0/8`; this lets configuration code notice non-canonical input through `isCanonical`, and
/// use `canonical` to clear the host bits. Prefixes order by address, then by length.
public struct IPPrefix: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address, possibly with host bits set.
    public let address: IPAddress
    /// The number of leading network bits, from 0 to `address.bitLength`.
    public let length: Int

    /// Creates a prefix, keeping any host bits in `address`; returns `nil` unless
    /// `0 <= length <= address.bitLength`.
    public init?(address: IPAddress, length: Int) {
        guard length >= 0 && length <= address.bitLength else { return nil }
        self.address = address
        self.length = length
    }

    /// Parses `"a.b.c.d/n"` or `"x::y/n"`; a bare address means a /32 or /128. Host bits are kept.
    /// Use ``parse(_:)`` to learn why the text is invalid.
    public init?(_ text: some StringProtocol) {
        guard case .success(let prefix) = Self.parse(text) else { return nil }
        self = prefix
    }

    /// Parses `"a.b.c.d/n"` or `"x::y/n"` (a bare address means a /32 or /128), keeping host bits,
    /// and names the part of the text that is wrong when it fails.
    public static func parse(_ text: some StringProtocol) -> Result<IPPrefix, IPPrefixParseError> {
        let text = Substring(text)
        let addressText: Substring
        let lengthText: Substring?
        if let slash = text.firstIndex(of: "/") {
            addressText = text[..<slash]
            lengthText = text[text.index(after: slash)...]
        } else {
            addressText = text[...]
            lengthText = nil
        }
        guard let address = IPAddress(addressText) else {
            return .failure(.badAddress(String(addressText)))
        }
        guard let lengthText else {
            return .success(IPPrefix(uncheckedAddress: address, length: address.bitLength))
        }
        guard let length = ASCIIText.strictDecimal(lengthText.utf8, maximum: address.bitLength) else {
            return .failure(.badLength(String(lengthText)))
        }
        return .success(IPPrefix(uncheckedAddress: address, length: length))
    }

    /// Whether no host bits are set, so that `self == canonical`.
    public var isCanonical: Bool {
        address.masked(toLength: length) == address
    }

    /// This prefix with its host bits cleared: `10.1.2.3/8` becomes `10.0.0.0/8`.
    public var canonical: IPPrefix {
        IPPrefix(uncheckedAddress: address.masked(toLength: length), length: length)
    }

    /// Whether `address` is of the same family and its first `length` bits match this prefix's.
    public func contains(_ address: IPAddress) -> Bool {
        guard address.isV4 == self.address.isV4 else { return false }
        return address.masked(toLength: length) == self.address.masked(toLength: length)
    }

    /// Whether every address in `other` is also in this prefix (a prefix contains itself).
    public func contains(_ other: IPPrefix) -> Bool {
        other.length >= length && contains(other.address)
    }

    /// Whether the two prefixes share at least one address, which for prefixes means that one contains
    /// the other. Prefixes of different families never overlap.
    public func overlaps(_ other: IPPrefix) -> Bool {
        contains(other) || other.contains(self)
    }

    /// The text form, for example `"10.0.0.0/8"` or `"fd00::/8"`, with host bits as stored.
    public var description: String {
        "\(address)/\(length)"
    }

    public static func < (lhs: IPPrefix, rhs: IPPrefix) -> Bool {
        (lhs.address, lhs.length) < (rhs.address, rhs.length)
    }

    /// Creates a prefix whose length the caller has already checked against the address width.
    init(uncheckedAddress address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }
}
