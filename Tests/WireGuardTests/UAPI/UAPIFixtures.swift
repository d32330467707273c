import CryptoPrimitives

/// Keys and helpers shared by the UAPI tests.
enum UAPIFixtures {
    static let privateKeyHex = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
    static let peerAHex = "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
    static let peerBHex = "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceae6e68cba76"
    static let peerCHex = "662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58"
    static let presharedHex = "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"

    /// A key whose 32 bytes all equal `byte`.
    static func key(repeating byte: UInt8) -> Key32 {
        Key32 { raw in
            for index in raw.indices { raw[index] = byte }
        }
    }

    /// Splits request text into the lines `parseSet` expects (`\n` separators, no terminating blank line).
    static func lines(_ text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
    }
}
