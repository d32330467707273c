import Foundation
import MeshgateTestSupport
import Testing

@Suite("Starting without -f", .tags(.privileged), .requiresLab("wireguard-go"))
struct BackgroundModeTests {
    /// `inheritance PROGRAM ARGS…`: runs the launcher with one extra inherited pipe descriptor, closes
    /// its own copy of the write end once the launcher has returned, and prints the launcher's exit
    /// status and `eof` if the pipe then reads end-of-file (nobody else holds it) or `held` if not.
    static let inheritanceProbe = """
        import os, select, subprocess, sys
        r, w = os.pipe()
        launcher = subprocess.run(sys.argv[1:], pass_fds=(w,), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        ready, _, _ = select.select([r], [], [], 2)
        print(launcher.returncode, "eof" if ready and os.read(r, 1) == b"" else "held")
        """

    /// wireguard-go's daemon keeps only its standard streams and its own TUN and UAPI descriptors. A
    /// daemon that keeps whatever else it inherited holds its launcher's pipes open: Foundation's
    /// `Process`, which watches such an inherited descriptor, then never reports that `wg-quick up` ended.
    @Test(
        "the launcher returns once the interface is ready, and the daemon keeps none of its descriptors",
        arguments: WireGuardImplementation.allCases)
    func daemonIsReadyAndHoldsNothingInherited(_ implementation: WireGuardImplementation) async throws {
        try await NetnsLab.withLab { lab in
            let name = lab.reserveInterfaceName(on: lab.a)
            let program = implementation == .meshgate ? lab.meshgateBinary : "wireguard-go"
            let probe = try await lab.run(
                in: lab.a, [LabEnvironment.python, "-c", Self.inheritanceProbe, program, name],
                environment: ["LOG_LEVEL": "silent"])
            let fields = probe.standardOutput.trimmed.split(separator: " ")
            #expect(fields.first == "0", "launcher exit status: \(probe)")

            // Ready means ready: the interface and the UAPI socket exist as soon as the launcher returns.
            let socket = "\(NetnsLab.socketDirectory)/\(name).sock"
            #expect(FileManager.default.fileExists(atPath: socket))
            #expect(try await lab.run(in: lab.a, ["ip", "link", "show", name], check: false).succeeded)
            #expect(fields.last == "eof", "\(implementation)'s daemon still holds a descriptor its launcher passed on")

            // The daemon is not the lab's child: stop it here, and it must clean up after itself.
            let daemons = ProcessTable.processes(commandLineContaining: name)
            #expect(daemons.count == 1, "\(daemons)")
            for daemon in daemons { kill(daemon.pid, SIGTERM) }
            let deadline = ContinuousClock.now + NetnsLab.stopGrace
            while ContinuousClock.now < deadline, daemons.contains(where: { ProcessTable.isAlive($0.pid) }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!daemons.contains { ProcessTable.isAlive($0.pid) }, "daemon ignored SIGTERM")
        }
    }
}
