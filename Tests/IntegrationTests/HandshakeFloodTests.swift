import MeshgateTestSupport
import Testing

@Suite("Handshake-initiation flood", .tags(.privileged), .requiresLab("wireguard-go"))
struct HandshakeFloodTests {
    /// `flood SOURCE ADDRESS PORT PUBLIC_KEY RATE SECONDS`: handshake initiations from SOURCE with a valid
    /// mac1 for PUBLIC_KEY (all that mac1 needs) and random contents, RATE per second for SECONDS; prints
    /// how many.
    static let flooder = """
        import base64, hashlib, os, socket, sys, time
        source, address, port, key = sys.argv[1], sys.argv[2], int(sys.argv[3]), base64.b64decode(sys.argv[4])
        rate, seconds = int(sys.argv[5]), float(sys.argv[6])
        mac1_key = hashlib.blake2s(b"mac1----" + key).digest()
        messages = []
        for _ in range(64):
            body = (1).to_bytes(4, "little") + os.urandom(112)
            messages.append(body + hashlib.blake2s(body, digest_size=16, key=mac1_key).digest() + bytes(16))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source, 0))
        s.setblocking(False)
        start, sent = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            due = int((time.monotonic() - start + 0.005) * rate)
            while sent < due:
                try:
                    s.sendto(messages[sent % 64], (address, port))
                except BlockingIOError:
                    pass
                sent += 1
            time.sleep(max(0.0, start + sent / rate - time.monotonic()))
        print(sent)
        """

    @Test("during a valid-mac1 initiation flood, the tunnel keeps working and a new peer gets in through the cookie")
    func floodSparesTheDataPathAndNewPeers() async throws {
        // Weight 2: the flood keeps a core busy.
        try await NetnsLab.withLab(weight: 2) { lab in
            // Info level: at debug, every refused initiation is a log line.
            let tunnel = try await lab.makeTunnel(
                a: .meshgate, b: .meshgate, environmentA: ["LOG_LEVEL": "info"], environmentB: ["LOG_LEVEL": "info"])
            let victim = tunnel.a
            let peer = tunnel.b
            try await lab.waitUntilReachable(from: lab.a, to: peer.innerAddress(.v4))
            let daemon = try #require(victim.process)

            // 20,000 initiations a second for 8 s, from another address in b's namespace (cookie replies
            // are limited per source address, so a flood from the new peer's own address would starve
            // it): well past the under-load threshold, bounded in count.
            let floodSource = "192.0.2.100"
            try await lab.ipBatch(lab.b, ["address add \(floodSource)/24 dev \(lab.b.veth)"])
            let flood = try lab.startProcess(
                in: lab.b,
                [
                    LabEnvironment.python, "-c", Self.flooder, floodSource, lab.a.outerAddress(.v4),
                    "\(victim.listenPort)",
                    victim.publicKey, "20000", "8",
                ], label: "flood")
            try await Task.sleep(for: .seconds(1))

            // The established tunnel: its packets never wait behind handshake work.
            let during = try await lab.ping(from: lab.a, to: peer.innerAddress(.v4), count: 100, interval: 0.02)
            #expect(during.lost <= 2, "established tunnel during the flood: \(during)")

            // A peer the victim has never talked to: b takes a new key, the victim swaps the old one for
            // it. Its first initiation is answered with a cookie; the resend with mac2 must get through
            // at once (before this fix it waited the 5 s rekey-timeout, or was lost in the flood).
            let keys = try await lab.makeKeyPair()
            let keyFile = try lab.writeFile("new-peer.key", keys.privateKey + "\n")
            try await lab.run(in: lab.b, ["wg", "set", peer.name, "private-key", keyFile])
            try await lab.run(
                in: lab.a,
                [
                    "wg", "set", victim.name, "peer", peer.publicKey, "remove", "peer", keys.publicKey,
                    "allowed-ips", "\(peer.innerAddress(.v4))/32",
                ])
            let newPeer = try await lab.ping(from: lab.b, to: victim.innerAddress(.v4), count: 1, wait: 2)
            #expect(newPeer.received == 1, "a new peer's handshake during the flood: \(newPeer)")
            #expect(flood.isRunning, "the flood ended before the new peer was measured")

            _ = await flood.waitForExit(timeout: .seconds(20))
            #expect(Int(flood.standardOutput.trimmed) ?? 0 > 100_000, "flood: \(flood.result)")
            #expect(daemon.isRunning, "meshgate-wg died: \(daemon.result)")
            let after = try await lab.ping(from: lab.b, to: victim.innerAddress(.v4), count: 5, interval: 0.05)
            #expect(after.lost == 0, "after the flood: \(after)")
        }
    }
}
