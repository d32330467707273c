import CryptoPrimitives
import NetworkTypes
import Yams

/// Walks a composed YAML tree, converting values and collecting every error with its key path instead of
/// stopping at the first one. Each accessor returns `nil` after recording an error (or when an optional
/// key is absent), so callers fall back to defaults and keep going.
struct ConfigReader {
    /// The keys of one mapping, after unknown keys have been reported.
    struct Fields {
        /// The mapping's own key path (`""` for the root).
        let path: String
        let values: [String: Node]

        func path(of key: String) -> String {
            path.isEmpty ? key : "\(path).\(key)"
        }

        /// The value, unless absent or null (`~`, `null`, or nothing after the colon).
        func value(_ key: String) -> Node? {
            guard let node = values[key], !ConfigReader.isNull(node) else { return nil }
            return node
        }
    }

    private(set) var errors: [ConfigError] = []

    mutating func record(_ error: ConfigError) {
        errors.append(error)
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a sequence"
        case .alias: "an alias"
        }
    }

    // MARK: - Structure

    /// The mapping at `path`, with any key outside `allowed` reported as unknown.
    mutating func mapping(_ node: Node, at path: String, allowed: Set<String>) -> Fields? {
        guard case .mapping(let mapping) = node else {
            record(
                .typeMismatch(
                    key: path.isEmpty ? "(document)" : path, expected: "a mapping", found: Self.describe(node)))
            return nil
        }
        var values: [String: Node] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? "<\(Self.describe(keyNode))>"
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                record(.unknownKey(keyPath))
                continue
            }
            values[key] = value
        }
        return Fields(path: path, values: values)
    }

    /// The optional sub-mapping `key` of `fields`.
    mutating func section(_ fields: Fields, _ key: String, allowed: Set<String>, required: Bool = false) -> Fields? {
        guard let node = fields.value(key) else {
            if required { record(.missingKey(fields.path(of: key))) }
            return nil
        }
        return mapping(node, at: fields.path(of: key), allowed: allowed)
    }

    /// The items of the sequence `key`, each with its path (`peers[2]`); a lone scalar is not accepted.
    mutating func sequence(_ fields: Fields, _ key: String) -> [(node: Node, path: String)]? {
        guard let node = fields.value(key) else { return nil }
        guard case .sequence(let sequence) = node else {
            record(.typeMismatch(key: fields.path(of: key), expected: "a sequence", found: Self.describe(node)))
            return nil
        }
        return sequence.enumerated().map { (node: $0.element, path: "\(fields.path(of: key))[\($0.offset)]") }
    }

    // MARK: - Scalars

    /// The scalar text at `node`, or an error if it is not a scalar.
    mutating func text(_ node: Node, at path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            record(.typeMismatch(key: path, expected: "a scalar", found: Self.describe(node)))
            return nil
        }
        return scalar.string
    }

    /// The scalar text of `key`; records a missing-key error when `required`.
    mutating func text(_ fields: Fields, _ key: String, required: Bool = false) -> String? {
        guard let node = fields.value(key) else {
            if required { record(.missingKey(fields.path(of: key))) }
            return nil
        }
        return text(node, at: fields.path(of: key))
    }

    /// Converts the scalar `key` with `convert`, which returns the value or the reason it is invalid.
    mutating func value<T>(
        _ fields: Fields, _ key: String, required: Bool = false, _ convert: (String) -> Result<T, ConfigError>
    ) -> T? {
        guard let text = text(fields, key, required: required) else { return nil }
        switch convert(text) {
        case .success(let value): return value
        case .failure(let error):
            record(error)
            return nil
        }
    }

    mutating func name(_ fields: Fields, _ key: String, required: Bool = false) -> String? {
        value(fields, key, required: required) { Parse.name($0, at: fields.path(of: key)) }
    }

    mutating func interface(_ fields: Fields, _ key: String, required: Bool = false) -> String? {
        value(fields, key, required: required) { Parse.interfaceName($0, at: fields.path(of: key)) }
    }

    mutating func absolutePath(_ fields: Fields, _ key: String, required: Bool = false) -> String? {
        value(fields, key, required: required) { Parse.absolutePath($0, at: fields.path(of: key)) }
    }

    mutating func bool(_ fields: Fields, _ key: String) -> Bool? {
        value(fields, key) { Parse.bool($0, at: fields.path(of: key)) }
    }

    mutating func integer(_ fields: Fields, _ key: String, in range: ClosedRange<Int>) -> Int? {
        value(fields, key) { Parse.integer($0, in: range, at: fields.path(of: key)) }
    }

    mutating func duration(_ fields: Fields, _ key: String) -> Duration? {
        value(fields, key) { Parse.duration($0, at: fields.path(of: key)) }
    }

    mutating func address(_ fields: Fields, _ key: String, required: Bool = false) -> IPAddress? {
        value(fields, key, required: required) { text in
            IPAddress(text).map { .success($0) }
                ?? .failure(
                    .invalidValue(
                        key: fields.path(of: key), value: text, reason: "expected an IPv4 or IPv6 address"))
        }
    }

    mutating func endpoint(_ fields: Fields, _ key: String, required: Bool = false) -> Endpoint? {
        value(fields, key, required: required) { Parse.endpoint($0, at: fields.path(of: key)) }
    }
}

/// Conversions from scalar text, each naming the key in its error.
enum Parse {
    static func name(_ text: String, at path: String) -> Result<String, ConfigError> {
        let valid =
            (1...63).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
        return valid
            ? .success(text)
            : .failure(.invalidValue(key: path, value: text, reason: "expected 1-63 characters of A-Z a-z 0-9 . _ -"))
    }

    static func interfaceName(_ text: String, at path: String) -> Result<String, ConfigError> {
        let valid =
            (1...15).contains(text.utf8.count) && text != "." && text != ".."
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ":") }
        return valid
            ? .success(text)
            : .failure(
                .invalidValue(
                    key: path, value: text,
                    reason: "expected a Linux interface name: 1-15 printable characters without spaces, / or :"))
    }

    static func absolutePath(_ text: String, at path: String) -> Result<String, ConfigError> {
        text.hasPrefix("/") && !text.utf8.contains(0)
            ? .success(text)
            : .failure(.invalidValue(key: path, value: text, reason: "expected an absolute path"))
    }

    static func bool(_ text: String, at path: String) -> Result<Bool, ConfigError> {
        switch text {
        case "true", "True", "TRUE": .success(true)
        case "false", "False", "FALSE": .success(false)
        default: .failure(.invalidValue(key: path, value: text, reason: "expected true or false"))
        }
    }

    static func integer(_ text: String, in range: ClosedRange<Int>, at path: String) -> Result<Int, ConfigError> {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 18,
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let value = Int(text)
        else {
            return .failure(.invalidValue(key: path, value: text, reason: "expected a whole number"))
        }
        return range.contains(value) ? .success(value) : .failure(.outOfRange(key: path, value: text, range: range))
    }

    /// `0`, or a whole number followed by `ms`, `s`, `m` or `h`: `100ms`, `5s`, `2m`.
    static func duration(_ text: String, at path: String) -> Result<Duration, ConfigError> {
        let failure = ConfigError.invalidValue(
            key: path, value: text, reason: "expected a duration such as 100ms, 5s, 2m or 1h")
        if text == "0" { return .success(.zero) }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard !digits.isEmpty, digits.count <= 9, let amount = Int64(digits) else { return .failure(failure) }
        switch unit {
        case "ms": return .success(.milliseconds(amount))
        case "s": return .success(.seconds(amount))
        case "m": return .success(.seconds(amount * 60))
        case "h": return .success(.seconds(amount * 3600))
        default: return .failure(failure)
        }
    }

    static func endpoint(_ text: String, at path: String) -> Result<Endpoint, ConfigError> {
        guard let endpoint = Endpoint(text) else {
            if let colon = text.lastIndex(of: ":"), UInt16(text[text.index(after: colon)...]) != nil,
                text[..<colon].contains(where: \.isLetter), !text.hasPrefix("[")
            {
                return .failure(
                    .invalidValue(
                        key: path, value: text,
                        reason:
                            "host names are not resolved: give the peer's IP address (198.51.100.7:51820), so the mesh does not depend on DNS when it starts"
                    ))
            }
            return .failure(
                .invalidValue(
                    key: path, value: text,
                    reason: "expected host:port, such as 198.51.100.7:51820 or [2001:db8::7]:51820"))
        }
        guard endpoint.port != 0 else {
            return .failure(.invalidValue(key: path, value: text, reason: "port 0 is not a valid destination"))
        }
        return .success(endpoint)
    }

    static func prefix(_ text: String, at path: String) -> Result<IPPrefix, ConfigError> {
        switch IPPrefix.parse(text) {
        case .success(let prefix): .success(prefix)
        case .failure(let error): .failure(.invalidValue(key: path, value: text, reason: error.description))
        }
    }

    static func publicKey(_ text: String, at path: String) -> Result<Key32, ConfigError> {
        guard let key = Key32(base64: text), !key.isZero else {
            return .failure(
                .invalidValue(
                    key: path, value: text, reason: "expected a 44-character base64 WireGuard public key (wg pubkey)"))
        }
        return .success(key)
    }

    static func keyExpiry(_ text: String, at path: String) -> Result<KeyExpiry, ConfigError> {
        KeyExpiry(text).map { .success($0) }
            ?? .failure(
                .invalidValue(
                    key: path, value: text, reason: "expected an RFC 3339 date such as 2026-06-01T00:00:00Z"))
    }
}
