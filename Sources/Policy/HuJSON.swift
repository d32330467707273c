// HuJSON ("human JSON", the format of Tailscale policy files): JSON plus `//` and `/* */` comments and
// trailing commas. Hand-written because the policy's errors must name a line and a column for every
// value, semantic errors included, and no package here keeps positions (Foundation's JSON5 mode drops them).

/// A parsed HuJSON value with the position it starts at.
struct HuJSONNode: Sendable {
    enum Value: Sendable {
        case object([Member])
        case array([HuJSONNode])
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    struct Member: Sendable {
        var key: String
        var keyPosition: SourcePosition
        var value: HuJSONNode
    }

    var value: Value
    var position: SourcePosition

    /// What the value is, for messages: "a string", "an object".
    var kind: String {
        switch value {
        case .object: "an object"
        case .array: "a list"
        case .string: "a string"
        case .number: "a number"
        case .bool: "true or false"
        case .null: "null"
        }
    }
}

/// A recursive-descent HuJSON parser over UTF-8 bytes, bounded in depth so hostile input cannot exhaust
/// the stack.
struct HuJSONParser {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    static let maximumDepth = 64

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses one document: a single value, then nothing but whitespace and comments.
    static func parse(_ bytes: [UInt8]) throws(PolicyError) -> HuJSONNode {
        var parser = HuJSONParser(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }  // UTF-8 byte order mark
        let node = try parser.parseValue(depth: 0)
        try parser.skipTrivia()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the document") }
        return node
    }

    private var position: SourcePosition { SourcePosition(line: line, column: index - lineStart + 1) }

    private func error(_ message: String, at position: SourcePosition? = nil) -> PolicyError {
        PolicyError(position ?? self.position, message)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    private mutating func skipTrivia() throws(PolicyError) {
        while let byte = current {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                advance()
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "/"):
                while let next = current, next != 0x0A { advance() }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                let start = position
                advance()
                advance()
                while true {
                    guard let next = current else { throw error("unterminated /* comment", at: start) }
                    if next == UInt8(ascii: "*"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                        advance()
                        advance()
                        break
                    }
                    advance()
                }
            default:
                return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(PolicyError) -> HuJSONNode {
        try skipTrivia()
        guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
        let start = position
        guard let byte = current else { throw error("unexpected end of file, a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): return HuJSONNode(value: .object(try parseObject(depth: depth)), position: start)
        case UInt8(ascii: "["): return HuJSONNode(value: .array(try parseArray(depth: depth)), position: start)
        case UInt8(ascii: "\""): return HuJSONNode(value: .string(try parseString()), position: start)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, value) in [("true", HuJSONNode.Value.bool(true)), ("false", .bool(false)), ("null", .null)]
            where bytes[index...].starts(with: word.utf8) {
                for _ in word.utf8 { advance() }
                return HuJSONNode(value: value, position: start)
            }
            throw error("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return HuJSONNode(value: .number(try parseNumber()), position: start)
        default:
            throw error("unexpected character '\(Self.printable(byte))', a value was expected")
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(Character(Unicode.Scalar(byte))) : "\\x\(String(byte, radix: 16))"
    }

    private mutating func parseObject(depth: Int) throws(PolicyError) -> [HuJSONNode.Member] {
        let open = position
        advance()
        var members: [HuJSONNode.Member] = []
        var seen: [String: SourcePosition] = [:]
        while true {
            try skipTrivia()
            guard let byte = current else { throw error("unterminated object (opened at \(open))") }
            if byte == UInt8(ascii: "}") {
                advance()
                return members
            }
            guard byte == UInt8(ascii: "\"") else {
                throw error("expected a quoted key or '}', found '\(Self.printable(byte))'")
            }
            let keyPosition = position
            let key = try parseString()
            if let first = seen[key] { throw error("duplicate key \"\(key)\" (first at \(first))", at: keyPosition) }
            seen[key] = keyPosition
            try skipTrivia()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\"") }
            advance()
            let value = try parseValue(depth: depth + 1)
            members.append(HuJSONNode.Member(key: key, keyPosition: keyPosition, value: value))
            try skipTrivia()
            if current == UInt8(ascii: ",") {
                advance()
            } else if current != UInt8(ascii: "}") {
                throw error("expected ',' or '}' in the object opened at \(open)")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(PolicyError) -> [HuJSONNode] {
        let open = position
        advance()
        var elements: [HuJSONNode] = []
        while true {
            try skipTrivia()
            guard let byte = current else { throw error("unterminated list (opened at \(open))") }
            if byte == UInt8(ascii: "]") {
                advance()
                return elements
            }
            elements.append(try parseValue(depth: depth + 1))
            try skipTrivia()
            if current == UInt8(ascii: ",") {
                advance()
            } else if current != UInt8(ascii: "]") {
                throw error("expected ',' or ']' in the list opened at \(open)")
            }
        }
    }

    private mutating func parseString() throws(PolicyError) -> String {
        let open = position
        advance()
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() {
            if !run.isEmpty {
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                run.removeAll(keepingCapacity: true)
            }
        }
        while true {
            guard let byte = current else { throw error("unterminated string (opened at \(open))") }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                advance()
                guard let escape = current else { throw error("unterminated string (opened at \(open))") }
                flush()
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    guard index + 4 < bytes.count,
                        let value = UInt32(
                            String(decoding: bytes[(index + 1)...(index + 4)], as: UTF8.self), radix: 16),
                        let scalar = Unicode.Scalar(value)
                    else { throw error("invalid \\u escape") }
                    scalars.append(scalar)
                    for _ in 0..<4 { advance() }
                default:
                    throw error("invalid escape '\\\(Self.printable(escape))'")
                }
                advance()
            case 0x00..<0x20:
                throw error("control character in a string (a newline must be written \\n)")
            default:
                run.append(byte)
                advance()
            }
        }
    }

    private mutating func parseNumber() throws(PolicyError) -> Double {
        let start = index
        let startPosition = position
        while let byte = current,
            byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        {
            advance()
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("invalid number \(text)", at: startPosition)
        }
        return value
    }
}
