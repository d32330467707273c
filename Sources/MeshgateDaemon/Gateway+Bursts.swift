import GatewayController
import Glibc
import LinuxSystem
import NetworkTypes
import Routing
import Synchronization

/// The one drill probe burst a gateway runs at a time for a peer (``BurstMessage``).
final class BurstState: @unchecked Sendable {
    let lock = PThreadMutex()
    var thread: OSThread?
    var activeID: UInt32?
    /// Who asked for the active burst: only it may stop it.
    var asker: Endpoint?
    var stopRequested = false
}

// MARK: - Drill bursts: ICMP from our LAN side to a host on a peer's LAN, for the peer's failover drill

extension Gateway {
    /// Starts the bursts a step asked for, or answers at once why not. Caller holds `lock`.
    func handleBursts(_ requests: [BurstMessage.Request], stops: [(id: UInt32, from: Endpoint)]) {
        for stop in stops {
            burst.lock.withLock {
                if burst.activeID == stop.id, burst.asker == stop.from { burst.stopRequested = true }
            }
        }
        for request in requests {
            // Only a primary's (or a lone gateway's) LAN source passes the far side's cryptokey routing.
            guard !request.isRefused, controller.pathProbesAccepted, let source = pathProbeSocket?.source,
                source.isV4 == request.target.isV4
            else {
                reply(BurstMessage.Result(id: request.id, status: .refused), to: request.replyTo)
                continue
            }
            let busy: Bool = burst.lock.withLock {
                if burst.activeID != nil { return true }
                burst.activeID = request.id
                burst.asker = request.replyTo
                burst.stopRequested = false
                return false
            }
            if busy {
                reply(BurstMessage.Result(id: request.id, status: .busy), to: request.replyTo)
                continue
            }
            burst.thread?.join()
            // At once, so the asker knows before its drill starts (and can time the round trip).
            reply(BurstMessage.Result(id: request.id, status: .accepted), to: request.replyTo)
            burst.thread = OSThread(name: "mg-burst") { [self] in
                let result = runBurst(request, from: source)
                reply(result, to: request.replyTo)
                burst.lock.withLock { burst.activeID = nil }
            }
        }
    }

    private func reply(_ result: BurstMessage.Result, to endpoint: Endpoint) {
        probeSocket.send(BurstMessage.result(result), to: endpoint)
    }

    /// Sends the burst and times the answers; returns the loss and the longest gap between answers.
    private func runBurst(_ request: BurstMessage.Request, from source: IPAddress) -> BurstMessage.Result {
        guard let socket = try? ICMPEchoSocket(source: source, identifier: Gateway.pathProbeIdentifier &+ 1)
        else { return BurstMessage.Result(id: request.id, status: .refused) }
        defer { socket.close() }
        let start = Gateway.now()
        var answers: [Duration] = []
        var seen = Set<UInt16>()
        var sent = 0
        var next = start
        var lastSent = Duration.zero
        let payload = Array("meshgate-drill".utf8)
        while sent < request.count, !burst.lock.withLock({ burst.stopRequested }) {
            let now = Gateway.now()
            if now >= next {
                socket.send(sequence: UInt16(truncatingIfNeeded: sent), to: request.target, payload: payload)
                sent += 1
                lastSent = now.duration(since: start)
                next = next + request.interval
            }
            let wait = max(0, Int32(next.duration(since: Gateway.now()).seconds * 1000))
            if socket.waitReadable(milliseconds: wait) {
                while let reply = socket.receive() {
                    guard reply.from == request.target, seen.insert(reply.sequence).inserted else { continue }
                    answers.append(Gateway.now().duration(since: start))
                }
            }
        }
        // Late answers to the last probes.
        let drainUntil = Gateway.now() + .milliseconds(100)
        while Gateway.now() < drainUntil {
            if socket.waitReadable(milliseconds: 20) {
                while let reply = socket.receive() {
                    guard reply.from == request.target, seen.insert(reply.sequence).inserted else { continue }
                    answers.append(Gateway.now().duration(since: start))
                }
            }
        }
        let end = Gateway.now().duration(since: start)
        // The longest stretch without an answer: before the first, between two, or from the last until the
        // last probe was sent (then it never closed, and the gap runs to the end).
        var gap: (start: Duration, end: Duration) = (.zero, answers.first ?? end)
        for (a, b) in zip(answers, answers.dropFirst()) where b - a > gap.end - gap.start { gap = (a, b) }
        // A tail without answers means the path did not come back, however long the gaps before it.
        if let last = answers.last, lastSent - last >= BurstMessage.unansweredTail {
            gap = (last, lastSent)
        }
        func milliseconds(_ d: Duration) -> UInt32 { UInt32(clamping: Int64(d.seconds * 1000)) }
        return BurstMessage.Result(
            id: request.id, status: .done, sent: sent, received: seen.count,
            longestGapStartMilliseconds: milliseconds(gap.start), longestGapEndMilliseconds: milliseconds(gap.end),
            durationMilliseconds: milliseconds(lastSent))
    }
}
