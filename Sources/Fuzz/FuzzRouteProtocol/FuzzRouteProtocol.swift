// libFuzzer target: the route-protocol decoder, and the election and route table fed from it.
// Invariants: decoding never traps; a decoded message re-encodes to exactly the input; no message, in
// any order, makes the election or the route table trap. Built and run by scripts/fuzz.sh.

import NetworkTypes
import Routing

nonisolated(unsafe) private var election = PrimaryElection(
    configuration: .init(name: "gw-nyc1-b", group: "nyc1", members: ["gw-nyc1-a", "gw-nyc1-b"], priority: 100),
    now: Timestamp(nanoseconds: 0))
nonisolated(unsafe) private var table = RouteTable(
    policy: RoutePolicy(
        localSubnets: [IPPrefix("10.10.10.0/24")!], localGroup: "nyc1",
        groupOf: ["gw-nyc1-a": "nyc1", "gw-nyc1-b": "nyc1", "gw-fsn1-a": "fsn1"], maxRoutesPerGateway: 64))
nonisolated(unsafe) private var clock: UInt64 = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouteProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    clock &+= 37_000_000  // 37 ms per input, so timers and expiry are reached
    let now = Timestamp(nanoseconds: clock)
    guard case .success(let message) = Advertisement.decode(bytes) else {
        _ = election.tick(now: now)
        return 0
    }
    precondition(message.encode() == bytes, "a decoded message must re-encode to the same bytes")
    switch message {
    case .hello(let hello):
        _ = election.receivedHello(hello, now: now)
        _ = election.makeHello(sequence: clock, now: now)
    case .routes(let routes):
        _ = table.apply(message, from: routes.sender, now: now)
        _ = DesiredRoutes(table: table, now: now, reports: election.reports(now: now))
    case .withdraw(let withdraw):
        _ = table.apply(message, from: withdraw.sender, now: now)
    case .policy, .probeTargets, .links:
        _ = table.apply(message, from: message.sender, now: now)
    case .relayed(let relayed):
        _ = table.apply(message, from: relayed.origin, now: now)
    }
    _ = election.tick(now: now)
    _ = election.nextDeadline(after: now)
    _ = table.expire(now: now)
    return 0
}
