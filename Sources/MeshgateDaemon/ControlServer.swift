public import ControlProtocol
import Foundation
import LinuxSystem
public import Logging

/// Serves the control socket: one JSON request per line, one JSON response per line, one connection at a
/// time (a client that does not send its request within 5 s is cut off, so it cannot hold others up for
/// long). The socket is mode 0600 (root only), like the UAPI socket.
public final class ControlServer: @unchecked Sendable {
    public typealias Handler = @Sendable (ControlRequest) -> ControlResponse

    private let listener: UnixListener
    private let handler: Handler
    private let logger: Logger
    private var thread: OSThread?

    public init(path: String, logger: Logger, handler: @escaping Handler) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { makeDirectories(directory) }
        self.listener = try UnixListener(path: path)
        self.handler = handler
        self.logger = logger
    }

    public var path: String { listener.path }

    public func start() {
        thread = OSThread(name: "mg-control") { [self] in
            while let connection = try? listener.accept(timeoutSeconds: 5) {
                serve(connection)
                connection.close()
            }
        }
    }

    public func stop() {
        listener.close()
        thread?.join()
    }

    private func serve(_ connection: FileDescriptor) {
        var pending = [UInt8]()
        while !pending.contains(UInt8(ascii: "\n")) {
            let bytes = connection.readSome()
            if bytes.isEmpty { return }
            pending += bytes
            if pending.count > 1 << 20 { return }
        }
        let line = Data(pending.prefix { $0 != UInt8(ascii: "\n") })
        let response: ControlResponse
        do {
            let envelope = try JSONDecoder().decode(ControlEnvelope<ControlRequest>.self, from: line)
            if envelope.version != ControlProtocol.version {
                response = .failure(
                    "control protocol version \(envelope.version) is not supported (this daemon speaks \(ControlProtocol.version))"
                )
            } else {
                response = handler(envelope.body)
            }
        } catch {
            logger.warning("control: unreadable request: \(error)")
            response = .failure("unreadable request: \(error)")
        }
        guard var data = try? JSONEncoder().encode(ControlEnvelope(response)) else { return }
        data.append(UInt8(ascii: "\n"))
        connection.writeAll(Array(data))
    }
}
