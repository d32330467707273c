// meshgate-wg: a userspace WireGuard interface with wireguard-go's command line, so that
// `WG_QUICK_USERSPACE_IMPLEMENTATION=meshgate-wg wg-quick up CONF` and `wg` work unchanged.
//
//   meshgate-wg [-f|--foreground] INTERFACE
//
// Without -f it starts itself again in the background and returns once the interface and the UAPI
// socket are ready (exit 0), or with the child's error (exit 1). LOG_LEVEL=debug|info|error|silent
// chooses how much goes to stderr (wireguard-go's variable).

import CryptoPrimitives
import Dataplane
import Glibc
import LinuxSystem
import Logging
import Synchronization
import WireGuard

let readyFDVariable = "MESHGATE_WG_READY_FD"
let usage = "Usage: meshgate-wg [-f/--foreground] INTERFACE-NAME\n"

func fail(_ message: String, code: Int32 = 1) -> Never {
    printError("meshgate-wg: \(message)\n")
    exit(code)
}

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--version"] || arguments == ["-v"] {
    print("meshgate-wg v0.1.0 (userspace WireGuard, wireguard-go compatible command line)")
    exit(0)
}
if arguments == ["--help"] || arguments == ["-h"] {
    print(usage, terminator: "")
    exit(0)
}
var foreground = false
if let first = arguments.first, first == "-f" || first == "--foreground" {
    foreground = true
    arguments.removeFirst()
}
guard arguments.count == 1, let interfaceName = arguments.first, !interfaceName.hasPrefix("-") else {
    printError(usage)
    exit(1)
}
guard interfaceName.utf8.count < 16 else { fail("interface name too long: \(interfaceName)") }
// Before any key exists in memory: no core dump may carry one.
do {
    try ProcessHardening.forbidCoreDumps()
} catch {
    fail("cannot forbid core dumps: \(error)")
}

if !foreground && getenv(readyFDVariable) == nil {
    exit(Background.launch(interfaceName: interfaceName, readyVariable: readyFDVariable))
}

// MARK: - Foreground (or the background child)

let level: Logger.Level? =
    switch String(cString: getenv("LOG_LEVEL") ?? strdup("info")) {
    case "debug", "verbose": .debug
    case "error": .error
    case "silent": nil
    default: .info
    }
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = level ?? .critical
    return handler
}
let logger = Logger(label: "meshgate-wg.\(interfaceName)")
let readyFD: Int32? = getenv(readyFDVariable).flatMap { Int32(String(cString: $0)) }
if let readyFD {
    _ = setsid()
    // Like wireguard-go's daemon, keep none of the launcher's descriptors beyond stdio and the ready pipe:
    // a caller waiting for EOF on a pipe it gave the launcher must not wait for us.
    Background.closeInheritedDescriptors(keeping: readyFD)
}

// Block the stop signals before any thread starts so every thread inherits the mask and the main
// thread alone receives them through sigwait.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, s) }
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
signal(SIGPIPE, SIG_IGN)

let device: Device
let uapi: UAPIServer
do {
    device = try Device(interfaceName: interfaceName, random: SystemRandom(), logger: logger)
    uapi = try UAPIServer(device: device, report: { [logger] in logger.error("UAPI socket: \($0)") })
} catch {
    if let readyFD { _ = write(readyFD, "E", 1) }
    fail("\(error)")
}
// Test hook: MESHGATE_WG_REKEY_AFTER_SECONDS shortens rekey-after-time so tests can watch a rekey.
if let value = getenv("MESHGATE_WG_REKEY_AFTER_SECONDS").flatMap({ Int(String(cString: $0)) }), value > 0 {
    device.engine.withLock { $0.rekeyAfterTime = .seconds(value) }
    logger.warning("rekey-after-time shortened to \(value) s (MESHGATE_WG_REKEY_AFTER_SECONDS)")
}
device.start()
uapi.start()
logger.info("interface \(device.interfaceName) is up; UAPI at \(uapi.listener.path)")
if let readyFD {
    _ = write(readyFD, "R", 1)
    close(readyFD)
    Background.detachStandardStreams()
}

var received: Int32 = 0
sigwait(&stopSignals, &received)
logger.info("shutting down (signal \(received))")
uapi.stop()
device.stop()
exit(0)
