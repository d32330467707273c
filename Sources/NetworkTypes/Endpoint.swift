/// A UDP endpoint: an IP address and a port, written `1.2.3.4:51820` or `[fd00::1]:51820`.
///
/// Parsing is strict and needs no name resolution: the host must be a literal address, an IPv6 address
/// must be in brackets (RFC 3986 §3.2.2), and the port must be a decimal number from 0 to 65535
/// without leading zeros.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// The IP address.
    public var address: IPAddress
    /// The UDP port.
    public var port: UInt16

    /// Creates an endpoint from an address and a port.
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `"1.2.3.4:51820"` or `"[fd00::1]:51820"`; returns `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        let text = Substring(text)
        let address: IPAddress
        let portText: Substring
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]"),
                let v6 = IPv6Address(text[text.index(after: text.startIndex)..<close])
            else { return nil }
            let afterClose = text.index(after: close)
            guard afterClose < text.endIndex, text[afterClose] == ":" else { return nil }
            address = .v6(v6)
            portText = text[text.index(after: afterClose)...]
        } else {
            guard let colon = text.firstIndex(of: ":"), let v4 = IPv4Address(text[..<colon]) else {
                return nil
            }
            address = .v4(v4)
            portText = text[text.index(after: colon)...]
        }
        guard let port = ASCIIText.strictDecimal(portText.utf8, maximum: Int(UInt16.max)) else { return nil }
        self.address = address
        self.port = UInt16(port)
    }

    /// `"1.2.3.4:51820"` for IPv4 and `"[fd00::1]:51820"` for IPv6.
    public var description: String {
        switch address {
        case .v4(let v4): "\(v4):\(port)"
        case .v6(let v6): "[\(v6)]:\(port)"
        }
    }
}
