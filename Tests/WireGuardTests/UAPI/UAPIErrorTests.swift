import Testing
import WireGuard

@Suite("UAPI errors and errno replies")
struct UAPIErrorTests {
    @Test(
        "maps each error to wireguard-go's negative Linux errno",
        arguments: [
            (UAPIError.malformedLine("x"), Int32(-71)),
            (.unknownDeviceKey("x"), -22),
            (.unknownPeerKey("x"), -22),
            (.deviceKeyAfterPeer("fwmark"), -22),
            (.peerKeyWithoutPublicKey("endpoint"), -22),
            (.invalidHexKey(key: "public_key"), -22),
            (.invalidNumber(key: "listen_port", value: "x"), -22),
            (.invalidFlag(key: "remove", value: "x"), -22),
            (.invalidEndpoint("x"), -22),
            (.invalidAllowedIP("x"), -22),
            (.unsupportedProtocolVersion("2"), -22),
            (.trailingCharacterAfterGet(0x78), -22),
            (.peerCreationFailed("too many peers"), -22),
            (.requestTooLarge(limit: 1), -5),
            (.ioFailure("broken pipe"), -5),
            (.bindFailed("address in use"), -98),
            (.unknown("?"), -55),
        ])
    func errnoMapping(_ error: UAPIError, _ errno: Int32) {
        #expect(error.errno == errno)
    }

    @Test("formatError writes errno=N and a blank line")
    func formatError() {
        #expect(UAPICodec.formatError(.invalidEndpoint("x")) == "errno=-22\n\n")
        #expect(UAPICodec.formatError(.malformedLine("x")) == "errno=-71\n\n")
        #expect(UAPICodec.formatError(.bindFailed("x")) == "errno=-98\n\n")
    }

    @Test("the success reply is errno=0 and a blank line")
    func successReply() {
        #expect(UAPICodec.successReply == "errno=0\n\n")
    }
}
