import Glibc
import NetworkTypes
import Testing

@testable import LinuxSystem

/// True when the kernel has IPv6 at all (it can be disabled on the command line).
private let ipv6Available = access("/proc/sys/net/ipv6", F_OK) == 0

/// Sends `sequences` to `target` and collects the replies `socket` reads within `milliseconds` in all.
private func ping(
    _ socket: ICMPEchoSocket, _ target: IPAddress, sequences: ClosedRange<UInt16>, milliseconds: Int = 2000
) -> [UInt16: IPAddress] {
    for sequence in sequences {
        #expect(socket.send(sequence: sequence, to: target, payload: Array("meshgate".utf8)) == 0)
    }
    var replies: [UInt16: IPAddress] = [:]
    let deadline = ContinuousClock.now + .milliseconds(milliseconds)
    while replies.count < sequences.count && ContinuousClock.now < deadline {
        _ = socket.waitReadable(milliseconds: 50)
        while let reply = socket.receive() {
            #expect(reply.payload == Array("meshgate".utf8))
            replies[reply.sequence] = reply.from
        }
    }
    return replies
}

@Suite("ICMPEchoSocket")
struct ICMPEchoSocketTests {
    @Test("IPv4 loopback answers every sequence with our identifier")
    func loopbackV4() throws {
        let loopback = IPAddress.v4(IPv4Address(127, 0, 0, 1))
        // IPv4 tests run in parallel, so their identifier ranges do not overlap.
        let socket = try ICMPEchoSocket(source: loopback, identifier: UInt16.random(in: 0x0001...0x3fff))
        defer { socket.close() }
        let replies = ping(socket, loopback, sequences: 1...5)
        #expect(replies.keys.sorted() == Array(1...5))
        #expect(replies.values.allSatisfy { $0 == loopback })
    }

    @Test("IPv6 loopback answers every sequence with our identifier", .enabled(if: ipv6Available))
    func loopbackV6() throws {
        let loopback = IPAddress.v6(IPv6Address(high: 0, low: 1))
        let socket = try ICMPEchoSocket(source: loopback, identifier: UInt16.random(in: 1...0xffff))
        defer { socket.close() }
        let replies = ping(socket, loopback, sequences: 1...5)
        #expect(replies.keys.sorted() == Array(1...5))
        #expect(replies.values.allSatisfy { $0 == loopback })
    }

    @Test("a socket with another identifier does not see the replies")
    func otherIdentifierIsSkipped() throws {
        let loopback = IPAddress.v4(IPv4Address(127, 0, 0, 1))
        let mine = UInt16.random(in: 0x4000...0x7fff)
        let first = try ICMPEchoSocket(source: loopback, identifier: mine)
        let second = try ICMPEchoSocket(source: loopback, identifier: mine + 0x8000)
        defer {
            first.close()
            second.close()
        }
        #expect(ping(first, loopback, sequences: 1...3).count == 3)
        // The kernel copied those replies to `second` too (in the same pass); it must skip all of them.
        #expect(second.waitReadable(milliseconds: 0))
        #expect(second.receive() == nil)
        #expect(ping(second, loopback, sequences: 7...7).keys.sorted() == [7])
        #expect(first.receive() == nil)
    }

    @Test("the parser takes a well-formed reply and rejects truncated, foreign and garbage bytes")
    func parser() {
        let identifier: UInt16 = 0x1234
        let ipHeader: [UInt8] = [0x45, 0, 0, 36, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
        let reply = ICMPEchoSocket.echoMessage(
            type: 0, identifier: identifier, sequence: 42, payload: [1, 2, 3, 4, 5, 6, 7, 8], checksummed: true)
        let v4 = ipHeader + reply
        func parse(_ bytes: [UInt8], ipv4: Bool = true, identifier: UInt16 = 0x1234) -> UInt16? {
            bytes.withUnsafeBytes { ICMPEchoSocket.parseReply($0, ipv4: ipv4, identifier: identifier) }
        }
        #expect(parse(v4) == 42)
        let header = v4.withUnsafeBytes {
            ICMPEchoSocket.parseReplyHeader($0, ipv4: true, identifier: identifier)
        }
        #expect(header?.payloadStart == 28)
        #expect(parse(v4, identifier: 0x1235) == nil)
        for length in 0..<v4.count { #expect(parse(Array(v4[0..<length])) == nil, "length \(length)") }

        var corrupted = v4
        corrupted[30] ^= 0xff
        #expect(parse(corrupted) == nil, "bad checksum")
        let request = ICMPEchoSocket.echoMessage(
            type: 8, identifier: identifier, sequence: 42, payload: [], checksummed: true)
        #expect(parse(ipHeader + request) == nil, "echo request")
        var longHeader = v4
        longHeader[0] = 0x4f
        #expect(parse(longHeader) == nil, "IHL beyond the buffer")
        var shortHeader = v4
        shortHeader[0] = 0x44
        #expect(parse(shortHeader) == nil, "IHL below 5")

        let v6 = ICMPEchoSocket.echoMessage(
            type: 129, identifier: identifier, sequence: 9, payload: [], checksummed: false)
        #expect(parse(v6, ipv4: false) == 9)
        #expect(parse(v4, ipv4: false) == nil)
        for length in 0..<v6.count { #expect(parse(Array(v6[0..<length]), ipv4: false) == nil) }

        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let garbage = (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            #expect(parse(garbage) == nil)
            #expect(parse(garbage, ipv4: false) == nil)
        }
        #expect(parse([UInt8](repeating: 0xff, count: 80)) == nil)
        #expect(parse([UInt8](repeating: 0, count: 80)) == nil)
    }
}
