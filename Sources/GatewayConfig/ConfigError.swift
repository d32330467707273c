/// One problem in a `meshgated` configuration file. Every case names the key path at fault
/// (`peers[1].endpoint`) and carries the offending value, so the message can be acted on without reading
/// the code. Secret values (private and preshared keys) are never carried.
public enum ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text is not valid YAML (or has a duplicated key); the position is 1-based.
    case syntax(line: Int, column: Int, message: String)
    /// A required key is absent.
    case missingKey(String)
    /// A key that meshgate does not know: typos must not be silently ignored.
    case unknownKey(String)
    /// The value has the wrong shape (a mapping where a scalar was expected, and so on).
    case typeMismatch(key: String, expected: String, found: String)
    /// The value does not parse or breaks a rule; `reason` says what was expected.
    case invalidValue(key: String, value: String, reason: String)
    /// A number outside its allowed range.
    case outOfRange(key: String, value: String, range: ClosedRange<Int>)
    /// A prefix with host bits set where a network is expected.
    case nonCanonicalPrefix(key: String, value: String, canonical: String)
    /// A public (non-RFC 1918, non-ULA) subnet in `advertise` while `allow_public_subnets` is off.
    case publicSubnet(key: String, value: String)
    /// Two subnets (or a subnet and an address) that overlap.
    case overlappingSubnets(key: String, value: String, otherKey: String, otherValue: String)
    /// A value that must be unique appears again; `firstKey` is where it first appeared.
    case duplicate(key: String, value: String, firstKey: String)
    /// A key file readable by group or others (`mode & 0o077 != 0`).
    case insecureKeyFile(key: String, path: String?, mode: UInt32)

    /// The key path the error is about, or `nil` for a syntax error.
    public var key: String? {
        switch self {
        case .syntax: nil
        case .missingKey(let key), .unknownKey(let key): key
        case .typeMismatch(let key, _, _), .invalidValue(let key, _, _), .outOfRange(let key, _, _),
            .nonCanonicalPrefix(let key, _, _), .publicSubnet(let key, _), .overlappingSubnets(let key, _, _, _),
            .duplicate(let key, _, _), .insecureKeyFile(let key, _, _):
            key
        }
    }

    /// The longest value quoted in a message; a longer one is cut, saying how long it was.
    public static let maximumQuotedValueLength = 120

    /// `value`, or its first ``maximumQuotedValueLength`` characters and its length.
    static func shortened(_ value: String) -> String {
        guard value.utf8.count > maximumQuotedValueLength else { return value }
        return "\(value.prefix(maximumQuotedValueLength))… (\(value.utf8.count) bytes)"
    }

    /// One line for the operator, starting with the key path.
    public var description: String {
        switch self {
        case .syntax(let line, let column, let message):
            return "line \(line), column \(column): \(message)"
        case .missingKey(let key):
            return "\(key): required key is missing"
        case .unknownKey(let key):
            if let suggestion = ConfigSchema.suggestion(forUnknownKey: key) {
                return "\(key): unknown key (did you mean \(suggestion)?)"
            }
            return "\(key): unknown key"
        case .typeMismatch(let key, let expected, let found):
            return "\(key): expected \(expected), found \(found)"
        case .invalidValue(let key, let value, let reason):
            return "\(key): invalid value \"\(Self.shortened(value))\": \(reason)"
        case .outOfRange(let key, let value, let range):
            return "\(key): \(Self.shortened(value)) is out of range \(range.lowerBound)...\(range.upperBound)"
        case .nonCanonicalPrefix(let key, let value, let canonical):
            return "\(key): \(value) has host bits set; write the network as \(canonical)"
        case .publicSubnet(let key, let value):
            return
                "\(key): \(value) is not private (RFC 1918 or IPv6 ULA) address space; set allow_public_subnets: true to advertise it"
        case .overlappingSubnets(let key, let value, let otherKey, let otherValue):
            return "\(key): \(value) overlaps \(otherKey) (\(otherValue))"
        case .duplicate(let key, let value, let firstKey):
            return "\(key): \"\(value)\" is already used by \(firstKey)"
        case .insecureKeyFile(let key, let path, let mode):
            let octal = String(mode & 0o7777, radix: 8)
            let file = path.map { "\($0) " } ?? "the key file "
            return
                "\(key): \(file)is readable by group or others (mode \(String(repeating: "0", count: max(0, 4 - octal.count)))\(octal)); restrict it with chmod 600"
        }
    }
}

/// Every problem found in one configuration, in document order. `parse` collects them all instead of
/// stopping at the first.
public struct ConfigErrorList: Error, Sendable, Hashable, CustomStringConvertible, RandomAccessCollection {
    /// The problems, in document order.
    public let errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    public var startIndex: Int { errors.startIndex }
    public var endIndex: Int { errors.endIndex }
    public subscript(position: Int) -> ConfigError { errors[position] }

    /// One error per line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
