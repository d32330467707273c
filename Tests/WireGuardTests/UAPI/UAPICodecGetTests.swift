import CryptoPrimitives
import NetworkTypes
import Testing
import WireGuard

@Suite("UAPI get=1 reply")
struct UAPICodecGetTests {
    @Test("writes wireguard-go's keys in wireguard-go's order, ending with errno=0 and a blank line")
    func formatsFullReply() throws {
        let privateKey = try #require(Key32(hex: UAPIFixtures.privateKeyHex))
        let presharedKey = try #require(Key32(hex: UAPIFixtures.presharedHex))
        let endpointA = try #require(Endpoint("192.0.2.10:51820"))
        let endpointB = try #require(Endpoint("[2001:db8::1]:4500"))
        let snapshot = UAPIDeviceSnapshot(
            privateKey: privateKey,
            listenPort: 51820,
            firewallMark: 4660,
            peers: [
                UAPIPeerSnapshot(
                    publicKey: try #require(Key32(hex: UAPIFixtures.peerAHex)),
                    presharedKey: presharedKey,
                    endpoint: endpointA,
                    lastHandshakeSeconds: 1_700_000_000,
                    lastHandshakeNanoseconds: 123_456_789,
                    rxBytes: 2048,
                    txBytes: 1024,
                    persistentKeepaliveInterval: 25,
                    allowedIPs: [try #require(IPPrefix("10.10.0.2/32")), try #require(IPPrefix("10.10.1.7/24"))]
                ),
                UAPIPeerSnapshot(
                    publicKey: try #require(Key32(hex: UAPIFixtures.peerBHex)),
                    endpoint: endpointB,
                    allowedIPs: [try #require(IPPrefix("fd00:20::/48"))]
                ),
                UAPIPeerSnapshot(publicKey: try #require(Key32(hex: UAPIFixtures.peerCHex))),
            ]
        )
        let expected = """
            private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a
            listen_port=51820
            fwmark=4660
            public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33
            preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52
            protocol_version=1
            endpoint=192.0.2.10:51820
            last_handshake_time_sec=1700000000
            last_handshake_time_nsec=123456789
            tx_bytes=1024
            rx_bytes=2048
            persistent_keepalive_interval=25
            allowed_ip=10.10.0.2/32
            allowed_ip=10.10.1.0/24
            public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceae6e68cba76
            preshared_key=0000000000000000000000000000000000000000000000000000000000000000
            protocol_version=1
            endpoint=[2001:db8::1]:4500
            last_handshake_time_sec=0
            last_handshake_time_nsec=0
            tx_bytes=0
            rx_bytes=0
            persistent_keepalive_interval=0
            allowed_ip=fd00:20::/48
            public_key=662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58
            preshared_key=0000000000000000000000000000000000000000000000000000000000000000
            protocol_version=1
            last_handshake_time_sec=0
            last_handshake_time_nsec=0
            tx_bytes=0
            rx_bytes=0
            persistent_keepalive_interval=0
            errno=0


            """
        #expect(UAPICodec.formatGet(snapshot) == expected)
    }

    @Test("an unconfigured interface replies with errno=0 alone")
    func emptyInterface() {
        #expect(UAPICodec.formatGet(UAPIDeviceSnapshot()) == "errno=0\n\n")
    }

    @Test("an all-zero private key is omitted, like an absent one")
    func zeroPrivateKeyOmitted() {
        #expect(
            UAPICodec.formatGet(UAPIDeviceSnapshot(privateKey: .zero, listenPort: 1)) == "listen_port=1\nerrno=0\n\n")
    }

    @Test("negative handshake times are written as 0, since wg reads digits only")
    func negativeHandshakeClamped() {
        let peer = UAPIPeerSnapshot(
            publicKey: UAPIFixtures.key(repeating: 1), lastHandshakeSeconds: -5, lastHandshakeNanoseconds: -1)
        let reply = UAPICodec.formatGet(UAPIDeviceSnapshot(peers: [peer]))
        #expect(reply.contains("\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"))
        #expect(!reply.contains("-"))
    }

    @Test("a get reply's peer section parses back as a set request for the same peer")
    func getReplyParsesBack() throws {
        let endpoint = try #require(Endpoint("198.51.100.1:1"))
        let peer = UAPIPeerSnapshot(
            publicKey: UAPIFixtures.key(repeating: 0xab),
            presharedKey: UAPIFixtures.key(repeating: 0xcd),
            endpoint: endpoint,
            persistentKeepaliveInterval: 60,
            allowedIPs: [try #require(IPPrefix("172.16.0.0/12"))]
        )
        let reply = UAPICodec.formatGet(UAPIDeviceSnapshot(listenPort: 7, peers: [peer]))
        // Keep only the keys a set request accepts (drop counters, handshake times and the errno trailer).
        let settable = reply.split(separator: "\n").filter { line in
            !["last_handshake", "tx_bytes", "rx_bytes", "errno"].contains { line.hasPrefix($0) }
        }
        let change = try UAPICodec.parseSet(Array(settable)).get()
        #expect(change.listenPort == 7)
        #expect(change.peers.count == 1)
        #expect(change.peers.first?.publicKey == peer.publicKey)
        #expect(change.peers.first?.presharedKey == peer.presharedKey)
        #expect(change.peers.first?.endpoint == peer.endpoint)
        #expect(change.peers.first?.persistentKeepaliveInterval == 60)
        #expect(change.peers.first?.allowedIPs == peer.allowedIPs)
    }
}
