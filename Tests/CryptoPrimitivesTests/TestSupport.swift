import CryptoPrimitives

/// Decodes a hex string into bytes. Whitespace, newlines and ':' separators are ignored so vectors
/// can be pasted in the layout the RFCs print them; anything else that is not a hex digit is a typo
/// in the test itself and stops the run.
func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !" \n\t:".unicodeScalars.contains($0) }
    precondition(digits.count % 2 == 0, "odd number of hex digits in test vector")
    var out = [UInt8]()
    out.reserveCapacity(digits.count / 2)
    var high: UInt8?
    for scalar in digits {
        guard let nibble = UInt8(String(scalar), radix: 16) else { preconditionFailure("bad hex digit \(scalar)") }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return out
}

/// Lower-case hex of `bytes`, for readable comparisons against the vectors.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef")
    var out = ""
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xf)])
    }
    return out
}

/// A Key32 from exactly 64 hex digits (whitespace ignored).
func key32(_ text: String) -> Key32 {
    guard let key = Key32(bytes: hexBytes(text)) else { preconditionFailure("test key is not 32 bytes") }
    return key
}

/// Every copy of `bytes` that differs from it in exactly one bit.
func singleBitFlips(of bytes: [UInt8]) -> [[UInt8]] {
    var out = [[UInt8]]()
    out.reserveCapacity(bytes.count * 8)
    for index in bytes.indices {
        for bit in 0..<8 {
            var copy = bytes
            copy[index] ^= 1 << UInt8(bit)
            out.append(copy)
        }
    }
    return out
}

/// A RandomSource that always yields the same byte, for deterministic key generation.
final class ConstantRandom: RandomSource {
    let byte: UInt8

    init(byte: UInt8) {
        self.byte = byte
    }

    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        for i in buffer.indices { buffer[i] = byte }
    }
}
