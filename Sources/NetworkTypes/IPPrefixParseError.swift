/// Why a piece of text is not a valid IP prefix; each case carries the offending part of the text.
public enum IPPrefixParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The part before the `/` (or the whole text when there is no `/`) is not an IPv4 or IPv6 address.
    case badAddress(String)
    /// The part after the `/` is not a decimal length from 0 to the address width (32 or 128).
    case badLength(String)

    /// A sentence for configuration error messages, quoting the offending text.
    public var description: String {
        switch self {
        case .badAddress(let text):
            "invalid IP address \"\(text)\" in prefix"
        case .badLength(let text):
            "invalid prefix length \"\(text)\": expected 0-32 for IPv4 or 0-128 for IPv6, without leading zeros"
        }
    }
}
