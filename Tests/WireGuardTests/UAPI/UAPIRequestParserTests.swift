import NetworkTypes
import Testing
import WireGuard

@Suite("UAPI request framing")
struct UAPIRequestParserTests {
    private static let setRequest = "set=1\nlisten_port=51820\nreplace_peers=true\n\n"
    private static let setLines: [Substring] = ["listen_port=51820", "replace_peers=true"]

    /// Feeds `text` one byte at a time, collecting every request as soon as it is complete.
    private func feedBytewise(_ text: String, into parser: inout UAPIRequestParser) -> [UAPIRequest] {
        var requests: [UAPIRequest] = []
        for byte in text.utf8 {
            parser.append(CollectionOfOne(byte))
            while let request = parser.nextRequest() { requests.append(request) }
        }
        return requests
    }

    private func feedAtOnce(_ text: String, into parser: inout UAPIRequestParser) -> [UAPIRequest] {
        parser.append(Array(text.utf8))
        var requests: [UAPIRequest] = []
        while let request = parser.nextRequest() { requests.append(request) }
        return requests
    }

    @Test("get=1 and a blank line is a get, in one chunk")
    func getInOneChunk() {
        var parser = UAPIRequestParser()
        #expect(feedAtOnce("get=1\n\n", into: &parser) == [.get])
    }

    @Test("get=1 fed one byte at a time completes only on its last byte")
    func getBytewise() {
        var parser = UAPIRequestParser()
        let bytes = Array("get=1\n\n".utf8)
        for byte in bytes.dropLast() {
            parser.append([byte])
            #expect(parser.nextRequest() == nil)
        }
        parser.append([bytes[bytes.count - 1]])
        #expect(parser.nextRequest() == .get)
        #expect(parser.nextRequest() == nil)
    }

    @Test("a set request in one chunk yields its lines")
    func setInOneChunk() {
        var parser = UAPIRequestParser()
        #expect(feedAtOnce(Self.setRequest, into: &parser) == [.set(Self.setLines)])
    }

    @Test("a set request fed one byte at a time yields the same lines")
    func setBytewise() {
        var parser = UAPIRequestParser()
        #expect(feedBytewise(Self.setRequest, into: &parser) == [.set(Self.setLines)])
    }

    @Test("two requests back to back come out in order, whether chunked or bytewise")
    func backToBack() {
        let stream = Self.setRequest + "get=1\n\n"
        var chunked = UAPIRequestParser()
        #expect(feedAtOnce(stream, into: &chunked) == [.set(Self.setLines), .get])
        var bytewise = UAPIRequestParser()
        #expect(feedBytewise(stream, into: &bytewise) == [.set(Self.setLines), .get])
    }

    @Test("a set with no lines is an empty set")
    func emptySet() {
        var parser = UAPIRequestParser()
        #expect(feedAtOnce("set=1\n\n", into: &parser) == [.set([])])
    }

    @Test("an incomplete set is held until its blank line arrives")
    func incompleteSetIsHeld() {
        var parser = UAPIRequestParser()
        #expect(feedAtOnce("set=1\nlisten_port=1\n", into: &parser) == [])
        #expect(feedAtOnce("\n", into: &parser) == [.set(["listen_port=1"])])
    }

    @Test("a carriage return before the newline is dropped from set lines, as Go's line scanner does")
    func carriageReturnsDropped() {
        var parser = UAPIRequestParser()
        #expect(feedAtOnce("set=1\nlisten_port=1\r\n\r\n", into: &parser) == [.set(["listen_port=1"])])
    }

    @Test("an unknown first line is invalid and ends the stream")
    func unknownOperation() {
        var parser = UAPIRequestParser()
        #expect(feedAtOnce("get=2\n\nget=1\n\n", into: &parser) == [.invalid("get=2")])
        #expect(parser.isClosed)
        #expect(feedAtOnce("get=1\n\n", into: &parser) == [])
    }

    @Test("the operation line must match exactly, so get=1 with CRLF is invalid")
    func operationLineIsExact() {
        var parser = UAPIRequestParser()
        #expect(feedAtOnce("get=1\r\n\r\n", into: &parser) == [.invalid("get=1\r")])
    }

    @Test("a byte other than newline after get=1 is an EINVAL error, and reading goes on")
    func trailingByteAfterGet() {
        var parser = UAPIRequestParser()
        let requests = feedAtOnce("get=1\nxget=1\n\n", into: &parser)
        #expect(requests == [.failed(.trailingCharacterAfterGet(UInt8(ascii: "x"))), .get])
        #expect(!parser.isClosed)
    }

    @Test("a set request larger than the limit fails with requestTooLarge and closes the parser")
    func oversizedSet() {
        var parser = UAPIRequestParser(maximumRequestBytes: 32)
        let request = "set=1\n" + String(repeating: "listen_port=1\n", count: 4) + "\n"
        #expect(feedAtOnce(request, into: &parser) == [.failed(.requestTooLarge(limit: 32))])
        #expect(parser.isClosed)
        #expect(feedAtOnce("get=1\n\n", into: &parser) == [])
    }

    @Test("an endless line fails as soon as it passes the limit, without waiting for a newline")
    func endlessLineFailsEarly() {
        var setParser = UAPIRequestParser(maximumRequestBytes: 64)
        let endless = "set=1\nprivate_key=" + String(repeating: "a", count: 100)
        #expect(feedBytewise(endless, into: &setParser) == [.failed(.requestTooLarge(limit: 64))])
        var operationParser = UAPIRequestParser(maximumRequestBytes: 64)
        #expect(
            feedAtOnce(String(repeating: "g", count: 65), into: &operationParser)
                == [.failed(.requestTooLarge(limit: 64))])
    }

    @Test("a request of exactly the limit is accepted")
    func requestAtLimit() {
        let request = "set=1\nlisten_port=1\n\n"
        var parser = UAPIRequestParser(maximumRequestBytes: request.utf8.count)
        #expect(feedAtOnce(request, into: &parser) == [.set(["listen_port=1"])])
    }

    @Test("the default limit is 1 MiB")
    func defaultLimit() {
        #expect(UAPIRequestParser().maximumRequestBytes == 8 << 20)
    }

    @Test("a large setconf fed byte by byte frames and parses into every peer")
    func largeRequestBytewise() throws {
        var request = "set=1\nreplace_peers=true\n"
        for index in 0..<200 {
            let hex = String(repeating: String(format2(index)), count: 32)
            request += "public_key=\(hex)\nreplace_allowed_ips=true\nallowed_ip=10.\(index).0.0/16\n"
        }
        request += "\n"
        var parser = UAPIRequestParser()
        let requests = feedBytewise(request, into: &parser)
        #expect(requests.count == 1)
        guard case .set(let lines) = try #require(requests.first) else {
            Issue.record("expected a set request, got \(requests)")
            return
        }
        let change = try UAPICodec.parseSet(lines).get()
        #expect(change.replacePeers)
        #expect(change.peers.count == 200)
        #expect(change.peers.last?.allowedIPs.map(\.description) == ["10.199.0.0/16"])
    }

    /// Two lower-case hex digits for a byte.
    private func format2(_ value: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[(value >> 4) & 0xf], digits[value & 0xf]])
    }
}
