import Foundation
import MeshgateTestSupport
import Testing

/// A line a `set=1` request must be refused for, and where in the request it goes.
struct RawSetMistake: Sendable, CustomTestStringConvertible {
    let line: String
    /// After `public_key=` (a peer key) rather than among the device keys.
    let isInPeerSection: Bool
    /// The errno wireguard-go answers (negated, as on its Linux socket).
    let expectedErrno: Int

    var testDescription: String { "\(isInPeerSection ? "peer" : "device") line `\(line)`" }

    static let all: [RawSetMistake] = [
        RawSetMistake(line: "listen_port=99999", isInPeerSection: false, expectedErrno: -22),
        RawSetMistake(line: "listen_port=-1", isInPeerSection: false, expectedErrno: -22),
        RawSetMistake(line: "private_key=zz", isInPeerSection: false, expectedErrno: -22),
        RawSetMistake(line: "fwmark=4294967296", isInPeerSection: false, expectedErrno: -22),
        RawSetMistake(line: "replace_peers=yes", isInPeerSection: false, expectedErrno: -22),
        RawSetMistake(line: "no_such_key=1", isInPeerSection: false, expectedErrno: -22),
        RawSetMistake(line: "endpoint=192.0.2.9:1", isInPeerSection: false, expectedErrno: -22),
        RawSetMistake(line: "a line without an equals sign", isInPeerSection: false, expectedErrno: -71),
        RawSetMistake(line: "allowed_ip=10.0.0.1/33", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "allowed_ip=fd00::/129", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "endpoint=not-an-endpoint", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "endpoint=192.0.2.9:65536", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "preshared_key=abc", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "persistent_keepalive_interval=65536", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "remove=yes", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "protocol_version=2", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "listen_port=40002", isInPeerSection: true, expectedErrno: -22),
        RawSetMistake(line: "no_such_key=1", isInPeerSection: true, expectedErrno: -22),
    ]
}

/// A `wg set` invocation that must fail and leave the interface as it was.
///
/// `listen-port 99999` is not among them: wireguard-tools v1.0.20210914 parses the port with glibc's
/// `getaddrinfo`, which accepts 99999 and wraps it to 34463, so `wg` succeeds and meshgate-wg never sees
/// the out-of-range value. ``RawSetMistake`` sends `listen_port=99999` on the socket instead.
enum WgSetMistake: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case malformedPrivateKey = "a private key file that holds no key"
    case prefixTooLong = "allowed-ips 10.0.0.1/33"
    case portInUse = "a new private key, a peer and a listen-port another socket holds"

    var testDescription: String { rawValue }
}

@Suite("UAPI rejections", .tags(.privileged), .requiresLab())
struct UAPIRejectionTests {
    /// A meshgate-wg interface with a private key, a listen port and one peer, so half-applied changes
    /// would show in `wg showconf` and `get=1`.
    func makeConfiguredInterface(_ lab: NetnsLab) async throws -> WireGuardInterface {
        let interface = try await lab.startInterface(.meshgate, on: lab.a, listenPort: 51820)
        let peer = try await lab.makeKeyPair()
        try await lab.run(
            in: lab.a,
            [
                "wg", "set", interface.name, "peer", peer.publicKey, "allowed-ips", "10.9.0.0/24", "endpoint",
                "192.0.2.2:51821",
            ])
        return interface
    }

    @Test("wg set with an invalid value fails with a message and changes nothing", arguments: WgSetMistake.allCases)
    func wgSetFailsCleanly(_ mistake: WgSetMistake) async throws {
        try await NetnsLab.withLab { lab in
            let interface = try await makeConfiguredInterface(lab)
            let newPeer = try await lab.makeKeyPair().publicKey
            let arguments: [String]
            let expectedMessage: String
            switch mistake {
            case .malformedPrivateKey:
                arguments = ["private-key", try lab.writeFile("bad.key", "not a key\n")]
                expectedMessage = "key"
            case .prefixTooLong:
                arguments = ["peer", newPeer, "allowed-ips", "10.0.0.1/33"]
                expectedMessage = "10.0.0.1/33"
            case .portInUse:
                // wg accepts the values and sends them; meshgate-wg must refuse the bind and apply neither
                // the private key nor the peer that come with it.
                let holder = try lab.startProcess(
                    in: lab.a,
                    [
                        LabEnvironment.python, "-u", "-c",
                        "import socket, time\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
                            + "s.bind(('::', 51999))\nprint('bound', flush=True)\ntime.sleep(120)",
                    ], label: "UDP port holder")
                try #require(await holder.waitForOutput(containing: "bound", timeout: .seconds(10)), "\(holder.result)")
                let newKey = try lab.writeFile("new.key", try await lab.makeKeyPair().privateKey + "\n")
                arguments = [
                    "private-key", newKey, "listen-port", "51999", "peer", newPeer, "allowed-ips", "10.55.0.0/16",
                ]
                expectedMessage = "Address already in use"
            }
            let before = try await lab.showConfiguration(interface)
            let result = try await lab.run(in: lab.a, ["wg", "set", interface.name] + arguments, check: false)
            #expect(!result.succeeded, "\(result)")
            #expect(result.standardError.contains(expectedMessage), "\(result)")
            let after = try await lab.showConfiguration(interface)
            #expect(after == before, "configuration changed by a failed wg set")
        }
    }

    @Test("a raw set=1 with one bad line answers errno and applies none of its lines", arguments: RawSetMistake.all)
    func rawSetIsAllOrNothing(_ mistake: RawSetMistake) async throws {
        try await NetnsLab.withLab { lab in
            let interface = try await makeConfiguredInterface(lab)
            let newPrivateKey = try hex(try await lab.makeKeyPair().privateKey)
            let newPeer = try hex(try await lab.makeKeyPair().publicKey)
            // Valid changes to the device and a new peer surround the bad line, so applying anything before
            // it would show in the configuration.
            func request(including badLine: String?) -> String {
                var lines = ["set=1", "private_key=\(newPrivateKey)", "listen_port=40001"]
                if let badLine, !mistake.isInPeerSection { lines.append(badLine) }
                lines += ["public_key=\(newPeer)", "allowed_ip=10.66.0.0/16", "persistent_keepalive_interval=25"]
                if let badLine, mistake.isInPeerSection { lines.append(badLine) }
                return lines.joined(separator: "\n") + "\n\n"
            }

            let daemon = try #require(interface.process)
            let before = try await lab.uapi(interface, "get=1\n\n")
            try #require(before.hasSuffix("errno=0\n\n"), "get=1 reply: \(before)")
            let descriptorsBefore = try #require(await ProcessTable.settledDescriptorCount(of: daemon.pid))
            let reply = try await lab.uapi(interface, request(including: mistake.line))
            #expect(reply == "errno=\(mistake.expectedErrno)\n\n")
            let after = try await lab.uapi(interface, "get=1\n\n")
            #expect(after == before, "configuration changed by a refused set=1")
            #expect(daemon.isRunning)
            let descriptorsAfter = await ProcessTable.waitForDescriptorCount(of: daemon.pid, toBe: descriptorsBefore)
            #expect(descriptorsAfter == descriptorsBefore, "open descriptors before and after the refused request")

            // Without the bad line the same request is accepted and visible, so the comparison above
            // could have caught a partial application.
            #expect(try await lab.uapi(interface, request(including: nil)) == "errno=0\n\n")
            let applied = try await lab.uapi(interface, "get=1\n\n")
            #expect(applied.contains("listen_port=40001\n"))
            #expect(applied.contains("public_key=\(newPeer)\n"))
        }
    }

    /// The 64 hex digits UAPI uses for a base64 key.
    func hex(_ base64: String) throws -> String {
        let bytes = try #require(Data(base64Encoded: base64))
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
