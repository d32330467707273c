/// One request read from a UAPI connection by ``UAPIRequestParser``.
public enum UAPIRequest: Sendable, Equatable {
    /// `get=1` and a blank line: answer with ``UAPICodec/formatGet(_:)``.
    case get
    /// `set=1`, these lines (without `\n`), and a blank line: pass the lines to
    /// ``UAPICodec/parseSet(_:)`` and answer ``UAPICodec/successReply`` or ``UAPICodec/formatError(_:)``.
    case set([Substring])
    /// The first line named no operation (here, the line without its `\n`). wireguard-go logs it and
    /// closes the connection without a reply; do the same. The parser reads nothing more.
    case invalid(String)
    /// The stream broke a framing rule: answer ``UAPICodec/formatError(_:)``. After
    /// ``UAPIError/requestTooLarge(limit:)`` the parser reads nothing more, so close the connection
    /// after replying; after ``UAPIError/trailingCharacterAfterGet(_:)`` reading continues, as in
    /// wireguard-go.
    case failed(UAPIError)
}
