import NFTables
import Testing

extension PrivilegedSuite {
    @Suite("MSS clamping of forwarded TCP", .requiresRoot("tshark", "python3"))
    struct MSSClampForwardingTests {
        /// The client's SYN crosses the router into the overlay (`oifname`); the server's SYN-ACK comes back out
        /// of it (`iifname`). Both arrive with MSS 1460 (IPv4) or 1440 (IPv6) and leave clamped.
        @Test(
            "a forwarded SYN and SYN-ACK leave the router with the clamped MSS, and the counters see them",
            arguments: [("10.91.2.2", UInt16(1240)), ("fd00:91:2::2", UInt16(1220))])
        func forwardedHandshakeIsClamped(serverAddress: String, clampedMSS: UInt16) throws {
            let lab = try ForwardingLab()
            defer { #expect(lab.remove() == []) }
            let socket = try lab.router.makeSocket()
            let ruleset = try MSSClampRuleset.forOverlay(interface: ForwardingLab.overlayInterface, mtu: 1280)
            try socket.apply(ruleset)
            #expect(try socket.clampCounters(table: ruleset.tableName) == RuleCounters(packets: 0, bytes: 0))

            let port = ForwardingLab.serverPort
            let syn = try ForwardingLab.Capture(namespace: lab.server, interface: "s0", filter: "tcp dst port \(port)")
            let synAck = try ForwardingLab.Capture(
                namespace: lab.client, interface: "c0", filter: "tcp src port \(port)")
            try syn.waitUntilCapturing()
            try synAck.waitUntilCapturing()
            try lab.connect(serverAddress: serverAddress)

            // Fields: SYN flag, ACK flag, MSS. The first segment each way is the handshake's.
            #expect(try syn.result() == ["1", "0", "\(clampedMSS)"])
            #expect(try synAck.result() == ["1", "1", "\(clampedMSS)"])
            let counters = try socket.clampCounters(table: ruleset.tableName)
            // Exactly 2 in a quiet lab; a SYN that TCP retransmits is clamped, and counted, again.
            #expect(counters.packets >= 2, "one SYN and one SYN-ACK clamped: \(counters)")
            #expect(counters.bytes > 0)
        }

        @Test("an MSS already below the clamp is left alone; only the SYN-ACK above it is clamped")
        func smallerMSSIsNotRaised() throws {
            let lab = try ForwardingLab()
            defer { #expect(lab.remove() == []) }
            let socket = try lab.router.makeSocket()
            let ruleset = try MSSClampRuleset.forOverlay(interface: ForwardingLab.overlayInterface, mtu: 1280)
            try socket.apply(ruleset)

            let port = ForwardingLab.serverPort
            let syn = try ForwardingLab.Capture(namespace: lab.server, interface: "s0", filter: "tcp dst port \(port)")
            let synAck = try ForwardingLab.Capture(
                namespace: lab.client, interface: "c0", filter: "tcp src port \(port)")
            try syn.waitUntilCapturing()
            try synAck.waitUntilCapturing()
            try lab.connect(serverAddress: "10.91.2.2", clientMSS: 1000)

            #expect(try syn.result() == ["1", "0", "1000"])
            #expect(try synAck.result() == ["1", "1", "1240"])
            #expect(try socket.clampCounters(table: ruleset.tableName).packets == 1)
        }

        @Test("without the ruleset the same SYN keeps its 1460-byte MSS (the lab can tell clamped from not)")
        func unclampedBaseline() throws {
            let lab = try ForwardingLab()
            defer { #expect(lab.remove() == []) }
            let port = ForwardingLab.serverPort
            let syn = try ForwardingLab.Capture(namespace: lab.server, interface: "s0", filter: "tcp dst port \(port)")
            try syn.waitUntilCapturing()
            try lab.connect(serverAddress: "10.91.2.2")
            #expect(try syn.result() == ["1", "0", "1460"])
        }
    }
}
