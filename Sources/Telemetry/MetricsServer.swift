public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The Prometheus scrape endpoint: an HTTP/1.1 server on SwiftNIO that answers `GET /metrics` (and `HEAD`)
/// with the text of a render closure, `404` for any other path and `405` for other methods on `/metrics`.
///
/// It runs on its own event loop group of one thread, started by ``start()`` and joined by ``stop()``, so
/// the daemon's loops never serve HTTP. Keep-alive and pipelined requests are handled; a malformed request
/// gets `400` and the connection closes, and so does a connection that sends nothing for ``idleTimeout``.
///
/// Thread-safety: safe for concurrent use. ``start()`` and ``stop()`` block, so never call them from the
/// render closure (which runs on the server's event loop).
public final class MetricsServer: Sendable {
    /// The `Content-Type` of the text exposition format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// The one path served.
    public static let path = "/metrics"

    private enum State {
        case idle
        case running(group: MultiThreadedEventLoopGroup, channel: any Channel, port: Int)
    }

    /// The address to listen on, for example `0.0.0.0`, `::` or `127.0.0.1`.
    public let host: String
    /// The port asked for; 0 lets the kernel pick one, which ``start()`` returns.
    public let port: Int
    /// How long a connection may stay silent before the server closes it.
    public let idleTimeout: Duration
    /// Connections open at once; a further one is closed as soon as it is accepted, so a flood of idle
    /// connections cannot exhaust the daemon's descriptors (the election and kernel sync need some).
    public let maximumConnections: Int
    private let connections = ConnectionCount()
    private let render: @Sendable () -> String
    private let logger: Logger
    private let state = Mutex(State.idle)

    /// Creates a stopped server.
    /// - Parameters:
    ///   - host: Address to listen on.
    ///   - port: TCP port; 0 picks a free one.
    ///   - idleTimeout: Closes connections silent this long; longer than any sane scrape interval, so a
    ///     scraper's keep-alive connection survives while abandoned ones do not pile up.
    ///   - logger: Where connection errors go (at debug level).
    ///   - render: Called on the server's event loop for every scrape; returns the exposition text.
    public init(
        host: String,
        port: Int,
        idleTimeout: Duration = .seconds(300),
        maximumConnections: Int = 64,
        logger: Logger = Logger(label: "meshgate.metrics"),
        render: @escaping @Sendable () -> String
    ) {
        self.host = host
        self.port = port
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
        self.logger = logger
        self.render = render
    }

    /// Binds the listening socket and starts serving. Blocks until the socket is bound.
    /// - Returns: The port actually bound (the kernel's pick when ``port`` is 0).
    /// - Throws: ``MetricsServerError`` if already running or the address cannot be bound.
    @discardableResult
    public func start() throws(MetricsServerError) -> Int {
        try state.withLock { state throws(MetricsServerError) -> Int in
            if case .running(_, _, let port) = state {
                throw .alreadyRunning(host: host, port: port)
            }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            do {
                let channel = try makeBootstrap(group: group).bind(host: host, port: port).wait()
                let boundPort = channel.localAddress?.port ?? port
                state = .running(group: group, channel: channel, port: boundPort)
                logger.debug("metrics endpoint listening", metadata: ["address": "\(host):\(boundPort)"])
                return boundPort
            } catch {
                try? group.syncShutdownGracefully()
                throw .cannotListen(host: host, port: port, reason: "\(error)")
            }
        }
    }

    /// Stops accepting, closes the listening socket and open connections, and joins the event loop
    /// thread. A no-op when not running; the server can be started again afterwards.
    public func stop() {
        let previous = state.withLock { state -> State in
            defer { state = .idle }
            return state
        }
        guard case .running(let group, let channel, _) = previous else { return }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private func makeBootstrap(group: MultiThreadedEventLoopGroup) -> ServerBootstrap {
        let render = self.render
        let logger = self.logger
        let idleTimeout = TimeAmount(self.idleTimeout)
        let connections = self.connections
        let maximumConnections = self.maximumConnections
        return ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard connections.open(limit: maximumConnections) else {
                    logger.debug("metrics endpoint: connection refused, \(maximumConnections) already open")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in connections.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render, logger: logger))
                }
            }
    }
}

/// Open connections of the metrics endpoint.
private final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more connection unless `limit` are open; false when refused.
    func open(limit: Int) -> Bool {
        guard count.add(1, ordering: .relaxed).newValue <= limit else {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func close() { count.subtract(1, ordering: .relaxed) }
}
