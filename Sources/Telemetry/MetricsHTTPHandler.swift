import Logging
import NIOCore
import NIOHTTP1

/// Answers each HTTP request on one connection: the routing of ``MetricsServer``. Lives on the
/// connection's event loop; not `Sendable`.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> String
    private let logger: Logger
    /// The head of the request being read; its body, if any, is ignored.
    private var request: HTTPRequestHead?

    init(render: @escaping @Sendable () -> String, logger: Logger) {
        self.render = render
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, case .read = idle {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("metrics connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// The status, extra headers, content type and body for a request.
    static func response(method: HTTPMethod, uri: String, render: () -> String)
        -> (status: HTTPResponseStatus, headers: [(String, String)], body: String)
    {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == MetricsServer.path else {
            return (.notFound, [("Content-Type", "text/plain; charset=utf-8")], "not found; metrics are at /metrics\n")
        }
        guard method == .GET || method == .HEAD else {
            return (
                .methodNotAllowed,
                [("Content-Type", "text/plain; charset=utf-8"), ("Allow", "GET, HEAD")],
                "method not allowed\n"
            )
        }
        return (.ok, [("Content-Type", MetricsServer.contentType)], render())
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let (status, extraHeaders, body) = Self.response(method: head.method, uri: head.uri, render: render)
        var headers = HTTPHeaders(extraHeaders)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        let keepAlive = head.isKeepAlive
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if head.version.major == 1 && head.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        context.write(
            Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if head.method != .HEAD {
            let buffer = context.channel.allocator.buffer(string: body)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let loopBoundContext = context.loopBound
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
                loopBoundContext.value.close(promise: nil)
            }
        }
    }
}
