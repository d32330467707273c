/// A `key_expires` date: an RFC 3339 date-time (`2026-06-01T00:00:00Z`, `2026-06-01T02:00:00+02:00`,
/// fractional seconds ignored) or a full date (`2026-06-01`, meaning midnight UTC).
///
/// Parsed without Foundation; equality and order compare the instant, not the text.
public struct KeyExpiry: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Int64
    /// The text as written in the file.
    public let text: String

    /// Parses RFC 3339 text; `nil` when malformed or out of range.
    public init?(_ text: String) {
        guard let seconds = Self.parse(Array(text.utf8)) else { return nil }
        self.secondsSince1970 = seconds
        self.text = text
    }

    /// Whether the key has expired at `now` (seconds since 1970, from the wall clock).
    public func isExpired(atSecondsSince1970 now: Int64) -> Bool {
        now >= secondsSince1970
    }

    public var description: String { text }

    public static func == (lhs: KeyExpiry, rhs: KeyExpiry) -> Bool {
        lhs.secondsSince1970 == rhs.secondsSince1970
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(secondsSince1970)
    }

    public static func < (lhs: KeyExpiry, rhs: KeyExpiry) -> Bool {
        lhs.secondsSince1970 < rhs.secondsSince1970
    }

    private static func parse(_ bytes: [UInt8]) -> Int64? {
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        if index == bytes.count { return Int64(days) * 86_400 }
        guard expect("Tt "), let hour = digits(2), expect(":"), let minute = digits(2), expect(":"),
            let second = digits(2), hour < 24, minute < 60, second <= 60
        else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > start else { return nil }
        }
        var offsetSeconds = 0
        if expect("Zz") {
            offsetSeconds = 0
        } else {
            guard index < bytes.count else { return nil }
            let sign = bytes[index]
            guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
            index += 1
            guard let offsetHour = digits(2), expect(":"), let offsetMinute = digits(2), offsetHour < 24,
                offsetMinute < 60
            else { return nil }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        guard index == bytes.count else { return nil }
        // A leap second (:60) counts as the last second of its minute.
        let clock = hour * 3600 + minute * 60 + min(second, 59)
        return Int64(days) * 86_400 + Int64(clock - offsetSeconds)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
