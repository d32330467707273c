import MeshgateTestSupport
import Testing

@Suite("Hostile datagrams", .tags(.privileged), .requiresLab("wireguard-go"))
struct GarbageDatagramTests {
    /// `garbage ADDRESS PORT SEED PUBLIC_KEY`: sends malformed datagrams to ADDRESS:PORT and prints how
    /// many. PUBLIC_KEY (base64) is the target's, so some messages carry a valid mac1 and get past the
    /// first check into the handshake code.
    static let garbageSender = """
        import base64, hashlib, random, socket, struct, sys
        address, port, rng = sys.argv[1], int(sys.argv[2]), random.Random(int(sys.argv[3]))
        mac1_key = hashlib.blake2s(b"mac1----" + base64.b64decode(sys.argv[4])).digest()
        s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        sent = 0
        def send(data):
            global sent
            s.sendto(data, (address, port))
            sent += 1
        def with_mac1(body):
            return body + hashlib.blake2s(body, key=mac1_key, digest_size=16).digest() + bytes(16)
        for n in range(40):
            send(rng.randbytes(n))
        sizes = {1: 148, 2: 92, 3: 64, 4: 32}
        for kind, size in sizes.items():
            for n in range(size + 17):
                send(struct.pack("<I", kind) + rng.randbytes(n))
        for _ in range(100):
            initiation = with_mac1(struct.pack("<I", 1) + rng.randbytes(112))
            response = with_mac1(struct.pack("<I", 2) + rng.randbytes(56))
            for message in (initiation, response):
                send(message)
                send(message[: rng.randrange(len(message))])
                send(message + rng.randbytes(rng.randrange(1, 64)))
        for _ in range(2000):
            send(struct.pack("<I", 4) + rng.randbytes(rng.randrange(28, 1500)))
        for _ in range(1000):
            send(rng.randbytes(rng.randrange(1, 1500)))
        send(rng.randbytes(65507 if ":" not in address else 65527))
        print(sent)
        """

    @Test(
        "meshgate-wg survives malformed datagrams and keeps its tunnel",
        arguments: IPFamily.allCases)
    func survivesGarbage(outer: IPFamily) async throws {
        // Weight 2: the flood keeps a core busy.
        try await NetnsLab.withLab(weight: 2) { lab in
            let tunnel = try await lab.makeTunnel(a: .meshgate, b: .wireguardGo, outer: outer)
            try await lab.waitUntilReachable(from: lab.a, to: tunnel.b.innerAddress(.v4))
            let endpointBefore = try await lab.dump(tunnel.a).peer(tunnel.b.publicKey)?.endpoint
            let daemon = try #require(tunnel.a.process)
            let descriptorsBefore = try #require(await ProcessTable.settledDescriptorCount(of: daemon.pid))

            // From node b, but from another port than wireguard-go's: a packet that moved the peer's
            // endpoint without authenticating would break the tunnel.
            for seed in 1...3 {
                let result = try await lab.run(
                    in: lab.b,
                    [
                        LabEnvironment.python, "-c", Self.garbageSender, lab.a.outerAddress(outer),
                        "\(tunnel.a.listenPort)",
                        "\(seed)", tunnel.a.publicKey,
                    ], timeout: .seconds(60))
                #expect(Int(result.standardOutput.trimmed) ?? 0 > 3000, "\(result)")
            }

            #expect(daemon.isRunning, "meshgate-wg died: \(daemon.result)")
            let descriptorsAfter = await ProcessTable.waitForDescriptorCount(of: daemon.pid, toBe: descriptorsBefore)
            #expect(descriptorsAfter == descriptorsBefore, "open descriptors before and after the garbage")
            #expect(try await lab.dump(tunnel.a).peer(tunnel.b.publicKey)?.endpoint == endpointBefore)
            let forward = try await lab.ping(from: lab.a, to: tunnel.b.innerAddress(.v4), count: 5, interval: 0.05)
            #expect(forward.lost == 0, "after the garbage, a → b: \(forward)")
            let backward = try await lab.ping(from: lab.b, to: tunnel.a.innerAddress(.v6), count: 5, interval: 0.05)
            #expect(backward.lost == 0, "after the garbage, b → a: \(backward)")
        }
    }
}
