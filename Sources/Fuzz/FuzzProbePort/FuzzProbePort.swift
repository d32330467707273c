// libFuzzer target: what a peer can send to a gateway's probe port (overlay probes, step-down requests,
// explain queries, drill burst requests and stops) and the ICMP echo replies the path probes read.
// Invariants: nothing traps; the controller keeps stepping; an explain answer always parses back.
// Built and run by scripts/fuzz.sh.

import CryptoPrimitives
import GatewayConfig
import GatewayController
import LinuxSystem
import NetworkTypes
import Routing

private let yaml = """
    node: {name: gw-fsn1-a, private_key_file: /nonexistent/key}
    overlay: {interface: mg0, address: 100.64.0.3}
    advertise: [{prefix: 10.20.10.0/24, probe: 10.20.10.100}]
    ha:
      group: fsn1
      lan: {interface: lan, virtual_ip: 10.20.10.1/24}
    peers:
      - {name: gw-nyc1-a, public_key: AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=, overlay_address: 100.64.0.1, group: nyc1}
      - {name: gw-fsn1-b, public_key: AgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICE=, overlay_address: 100.64.0.4, group: fsn1}
    """

nonisolated(unsafe) private var controller: GatewayController = {
    guard case .success(let config) = GatewayConfiguration.parse(yaml: yaml) else { fatalError("fuzz config invalid") }
    return GatewayController(
        config: config, publicKey: .zero, connectedLAN: config.advertise, lanHealthy: true, probeReplyPort: 40000,
        now: Timestamp(nanoseconds: 1_000_000_000), wallClockNanoseconds: 1_767_225_600_000_000_000)
}()
nonisolated(unsafe) private var clock: UInt64 = 1_000_000_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProbePort(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    clock &+= 23_000_000
    let now = Timestamp(nanoseconds: clock)
    // From a peer (the socket is bound to the overlay), and from an address that is nobody's.
    let from = bytes.first.map { $0 & 1 == 0 } ?? true ? IPAddress("100.64.0.1")! : IPAddress("100.64.9.9")!
    let out = controller.step(
        now: now,
        inputs: [
            .datagram(Datagram(channel: .probePort, bytes: bytes, peer: Endpoint(address: from, port: 40000))),
            .pathProbeAnswer(sequence: UInt32(truncatingIfNeeded: size), from: from),
        ])
    for datagram in out.datagrams where datagram.bytes.starts(with: ExplainMessage.answerMagic) {
        precondition(ExplainMessage.parseAnswer(datagram.bytes) != nil, "an explain answer must parse back")
    }
    _ = ExplainMessage.parseAnswer(bytes)
    _ = BurstMessage.parseResult(bytes)
    bytes.withUnsafeBytes { raw in
        _ = ICMPEchoSocket.parseReply(raw, ipv4: true, identifier: 7)
        _ = ICMPEchoSocket.parseReply(raw, ipv4: false, identifier: 7)
    }
    return 0
}
