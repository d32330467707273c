import ControlProtocol
import CryptoPrimitives
import Dataplane
import Foundation
import GatewayConfig
import GatewayController
import Glibc
import LinuxSystem
import Logging
import NetworkTypes
import Routing
import Synchronization
import WireGuard

// MARK: - Key rotation without dropping traffic (the protocol is ``KeyRotation``'s)

extension Gateway {
    func rotateKey(measure: Bool) -> ControlResponse {
        let probe = measure ? ProbeRun(gateway: self) : nil
        if measure && probe == nil { return .failure("no remote gateway with a live tunnel to probe through") }
        probe?.start()
        if measure { Thread.sleep(forTimeInterval: 0.3) }
        let started = Gateway.now()
        var newKey = X25519.generatePrivateKey(using: SystemRandom())
        defer { newKey.wipe() }
        let newPublic = X25519.publicKey(for: newKey)
        // Peers with a live tunnel must acknowledge; others learn at their next contact... they cannot, so
        // they are listed in the report.
        let snapshot = device.snapshot()
        let wallNow = Int64(Date().timeIntervalSince1970)
        let live: Set<String> = lock.withLock {
            let keys = controller.peerKeys
            return Set(
                controller.config.peers.filter { peer in
                    peer.name != controller.config.node.name
                        && snapshot.peers.contains {
                            $0.publicKey == keys[peer.name] && wallNow - $0.lastHandshakeSeconds < 180
                        }
                }.map(\.name))
        }
        // Persist first: the new key is written and synced next to the key file before any peer hears of
        // it, so a key directory that cannot be written (a read-only unit, a full disk) changes nothing.
        let staged = config.node.privateKeyFile + ".new"
        do {
            try Gateway.writeStagedKey(newKey, path: staged)
        } catch {
            probe?.stop()
            return .failure(
                "key not rotated: cannot write the new key next to \(config.node.privateKeyFile): \(error) (nothing changed; the key directory must be writable)"
            )
        }
        if case .refused(let why) = perform(.beginKeyRotation(newPublicKey: newPublic, livePeers: live)) {
            unlink(staged)
            probe?.stop()
            return .failure("key not rotated: \(why)")
        }
        // The controller announces the key every 100 ms until every live peer acknowledged or 2 s passed.
        var rotation: KeyRotation?
        while true {
            rotation = lock.withLock { controller.keyRotation }
            if rotation?.isSettled ?? true { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        let acked = rotation?.acknowledged ?? []
        let missing = (rotation?.missing ?? live).sorted()
        if !missing.isEmpty {
            _ = perform(.abandonKeyRotation)
            unlink(staged)
            probe?.stop()
            return .failure(
                "key not rotated: \(missing.joined(separator: ", ")) did not acknowledge the new key within 2 s (nothing changed here; peers that did acknowledge now expect \(newPublic.base64) and will reject handshakes under the old key until they hear it again)"
            )
        }
        // The staged key takes the key file's place atomically before we switch: a crash after switching
        // must not bring the old key back.
        do {
            try Gateway.commitStagedKey(staged, to: config.node.privateKeyFile)
        } catch {
            _ = perform(.abandonKeyRotation)
            unlink(staged)
            probe?.stop()
            return .failure("cannot replace \(config.node.privateKeyFile) with the new key: \(error)")
        }
        let switched = Gateway.now()
        // Taken before the handshakes start: a handshake can complete within a millisecond.
        let wallSwitch = Date().timeIntervalSince1970
        let moment = Device.now()
        device.engine.withLock { engine in
            engine.setPrivateKey(newKey, keepingSessions: true)
            engine.initiateHandshakes(now: moment)
        }
        device.nudgeTimers()
        _ = perform(.completeKeyRotation)
        guard let probe else {
            return ControlResponse(
                message:
                    "key rotated; new public key \(newPublic.base64); peers acknowledged: \(acked.sorted().joined(separator: ", "))"
            )
        }
        // Converged: every live peer completed a handshake under the new key.
        let convergeDeadline = Gateway.now() + .seconds(5)
        while Gateway.now() < convergeDeadline {
            let peers = device.snapshot().peers
            let keys = lock.withLock { controller.peerKeys }
            let done = live.allSatisfy { name in
                peers.contains {
                    $0.publicKey == keys[name]
                        && Double($0.lastHandshakeSeconds) + Double($0.lastHandshakeNanoseconds) / 1e9 >= wallSwitch
                }
            }
            if done { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        let converged = Gateway.now()
        Thread.sleep(forTimeInterval: 0.3)
        let result = probe.stop()
        return ControlResponse(
            drill: DrillReport(
                kind: "key-rotation",
                convergenceMilliseconds: Double(converged.duration(since: started).nanosecondsValue) / 1e6,
                probesSent: result.sent, probesLost: result.lost, longestGapMilliseconds: result.longestGapMilliseconds,
                restored: true,
                notes: [
                    "new public key \(newPublic.base64); update the shared peer list",
                    "peers acknowledged in \(Double(switched.duration(since: started).nanosecondsValue) / 1e6) ms; convergence = until every live peer completed a handshake under the new key",
                ]))
    }

    /// Writes `key` to `path` (mode 0600) and syncs it to disk.
    static func writeStagedKey(_ key: Key32, path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SystemError("open \(path)", errno: errno) }
        defer { close(fd) }
        let text = Array((key.base64 + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == text.count else {
            let error = errno
            unlink(path)
            throw SystemError("write \(path)", errno: error)
        }
        guard fsync(fd) == 0 else {
            let error = errno
            unlink(path)
            throw SystemError("fsync \(path)", errno: error)
        }
    }

    /// Renames the staged key over the key file and syncs the directory, so the rename survives a crash.
    static func commitStagedKey(_ staged: String, to path: String) throws {
        guard rename(staged, path) == 0 else { throw SystemError("rename \(staged)", errno: errno) }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
