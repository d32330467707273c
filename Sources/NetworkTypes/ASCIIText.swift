/// Byte-level helpers for parsing and formatting the ASCII text forms of addresses, prefixes and
/// ports, so that `NetworkTypes` needs neither libc (`inet_pton`, `strtoul`) nor Foundation.
enum ASCIIText {
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let dot = UInt8(ascii: ".")
    static let colon = UInt8(ascii: ":")
    static let slash = UInt8(ascii: "/")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")

    /// Parses a strict unsigned decimal number: one or more ASCII digits, no sign, no whitespace and
    /// no leading zero unless the number is exactly "0".
    ///
    /// - Returns: the value, or `nil` if the text is malformed or the value exceeds `maximum`.
    static func strictDecimal(_ bytes: some Collection<UInt8>, maximum: Int) -> Int? {
        guard let first = bytes.first else { return nil }
        if first == zero && bytes.count > 1 { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= zero && byte <= nine else { return nil }
            value = value * 10 + Int(byte - zero)
            guard value <= maximum else { return nil }
        }
        return value
    }

    /// Returns the value of one hexadecimal digit (either case), or `nil` for any other byte.
    static func hexDigitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
