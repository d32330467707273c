// meshgated: the gateway daemon. Runs in the foreground (systemd Type=notify), one YAML config per gateway.

import ArgumentParser
import ControlProtocol
import Foundation
import GatewayConfig
import Glibc
import LinuxSystem
import Logging
import MeshgateDaemon

@main
struct Meshgated: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshgated",
        abstract: "The meshgate gateway daemon: WireGuard mesh, subnet advertisement, kernel routes, HA election.",
        discussion: """
            Runs in the foreground until SIGTERM or SIGINT, then withdraws its routes from the mesh and removes \
            what it added to the kernel. Tells systemd when it is ready (NOTIFY_SOCKET).

            Exit codes: 0 clean stop, 1 the config is invalid or start-up failed.
            """,
        version: ControlProtocol.softwareVersion)

    @Option(help: "The gateway's YAML config file.")
    var config: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "meshgated")
        // Before the key is read: no core dump may carry it.
        do {
            try ProcessHardening.forbidCoreDumps()
        } catch {
            logger.critical("cannot forbid core dumps: \(error)")
            throw ExitCode.failure
        }

        let loaded: (GatewayConfiguration, privateKey: CryptoKey)
        do {
            loaded = try ConfigLoader.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("meshgated: \(error)\n".utf8))
            throw ExitCode.failure
        }

        // Stop signals go to sigwait on this thread only; every thread started later inherits the mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)

        let gateway: Gateway
        let control: ControlServer
        do {
            gateway = try Gateway(config: loaded.0, privateKey: loaded.privateKey.key, logger: logger)
            gateway.configPath = config
            try gateway.start()
            control = try ControlServer(path: loaded.0.control.socket, logger: logger) { request in
                gateway.handle(request)
            }
            control.start()
        } catch {
            logger.critical("start-up failed: \(error)")
            throw ExitCode.failure
        }
        SystemdNotify.ready()
        var received: Int32 = 0
        while true {
            sigwait(&signals, &received)
            guard received == SIGHUP else { break }
            let result = gateway.reload()
            logger.notice("SIGHUP: \(result.ok ? result.message ?? "reloaded" : result.error ?? "reload refused")")
        }
        logger.notice("signal \(received): stopping")
        control.stop()
        gateway.stop()
    }
}
