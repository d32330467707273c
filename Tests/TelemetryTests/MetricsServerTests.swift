import Glibc
import Synchronization
import Testing

@testable import Telemetry

@Suite("MetricsServer")
struct MetricsServerTests {
    /// Starts a server on a free loopback port, runs `body` with the port, and always stops it.
    func withServer(
        render: @escaping @Sendable () -> String = { "# TYPE demo gauge\ndemo 1.0\n" },
        _ body: (Int) throws -> Void
    ) throws {
        let server = MetricsServer(host: "127.0.0.1", port: 0, render: render)
        let port = try server.start()
        defer { server.stop() }
        try body(port)
    }

    @Test("serves the render closure at GET /metrics over loopback TCP")
    func servesMetrics() throws {
        let registry = MetricsRegistry(version: "9.9.9")
        registry.setRoutesInstalled(4)
        try withServer(render: registry.render) { port in
            #expect(port > 0)
            let response = try LoopbackHTTPClient.request(port: port, path: "/metrics")
            #expect(response.statusCode == 200)
            #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.header("Content-Length") == String(response.body.utf8.count))
            let exposition = try Exposition(response.body)
            #expect(exposition.value("meshgate_routes_installed") == 4)
            #expect(exposition.value("meshgate_build_info", ["version": "9.9.9"]) == 1)
        }
    }

    @Test("renders afresh on every scrape and ignores the query string")
    func rendersPerScrape() throws {
        let scrapes = Atomic(0)
        try withServer(render: { "scrape \(scrapes.add(1, ordering: .relaxed).newValue)\n" }) { port in
            let first = try LoopbackHTTPClient.request(port: port, path: "/metrics")
            let second = try LoopbackHTTPClient.request(port: port, path: "/metrics?x=1")
            #expect(first.body == "scrape 1\n")
            #expect(second.body == "scrape 2\n")
        }
    }

    @Test("answers 404 for other paths", arguments: ["/", "/metrics/", "/metricsx", "/health"])
    func notFoundElsewhere(path: String) throws {
        try withServer { port in
            let response = try LoopbackHTTPClient.request(port: port, path: path)
            #expect(response.statusCode == 404, "\(path): \(response.statusLine)")
        }
    }

    @Test("answers 405 with an Allow header for other methods on /metrics", arguments: ["POST", "PUT", "DELETE"])
    func methodNotAllowed(method: String) throws {
        try withServer { port in
            let response = try LoopbackHTTPClient.request(port: port, method: method, path: "/metrics")
            #expect(response.statusCode == 405, "\(method): \(response.statusLine)")
            #expect(response.header("Allow") == "GET, HEAD")
        }
    }

    @Test("answers HEAD /metrics with headers only")
    func headHasNoBody() throws {
        try withServer(render: { "twelve bytes" }) { port in
            let raw = try LoopbackHTTPClient.exchangeRaw(
                port: port, rawRequests: "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let text = String(decoding: raw, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(text)")
            #expect(text.lowercased().contains("content-length: 12\r\n"), "\(text)")
            #expect(text.hasSuffix("\r\n\r\n"), "a body followed the headers: \(text)")
        }
    }

    @Test("keeps the connection alive across pipelined requests and closes on Connection: close")
    func keepAliveAndPipelining() throws {
        try withServer(render: { "ok\n" }) { port in
            let requests =
                "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let responses = try LoopbackHTTPClient.exchange(port: port, rawRequests: requests)
            #expect(responses.map(\.statusCode) == [200, 404, 200])
            #expect(responses.first?.body == "ok\n")
        }
    }

    @Test("answers a malformed request with 400")
    func malformedRequest() throws {
        try withServer { port in
            let raw = try LoopbackHTTPClient.exchangeRaw(port: port, rawRequests: "NOT HTTP AT ALL\r\n\r\n")
            #expect(String(decoding: raw, as: UTF8.self).hasPrefix("HTTP/1.1 400"))
        }
    }

    @Test("refuses connections after stop, refuses a second start, and can start again")
    func lifecycle() throws {
        let server = MetricsServer(host: "127.0.0.1", port: 0, render: { "x\n" })
        let port = try server.start()
        #expect(throws: MetricsServerError.alreadyRunning(host: "127.0.0.1", port: port)) { try server.start() }
        server.stop()
        #expect(throws: LoopbackHTTPClient.ClientError.connect(errno: ECONNREFUSED)) {
            _ = try LoopbackHTTPClient.connect(port: port)
        }
        server.stop()  // a second stop is a no-op

        let again = try server.start()
        defer { server.stop() }
        let response = try LoopbackHTTPClient.request(port: again, path: "/metrics")
        #expect(response.statusCode == 200)
    }

    @Test("closes a connection that stays silent for the idle timeout")
    func closesIdleConnections() throws {
        let server = MetricsServer(host: "127.0.0.1", port: 0, idleTimeout: .milliseconds(200), render: { "" })
        let port = try server.start()
        defer { server.stop() }
        let raw = try LoopbackHTTPClient.exchangeRaw(port: port, rawRequests: "")
        #expect(raw.isEmpty, "the server sent \(raw.count) bytes to a silent client")
    }

    @Test("reports an address it cannot bind")
    func cannotListen() throws {
        let first = MetricsServer(host: "127.0.0.1", port: 0, render: { "" })
        let port = try first.start()
        defer { first.stop() }
        let second = MetricsServer(host: "127.0.0.1", port: port, render: { "" })
        #expect {
            try second.start()
        } throws: { error in
            guard case .cannotListen(let host, let failedPort, let reason)? = error as? MetricsServerError else {
                return false
            }
            return host == "127.0.0.1" && failedPort == port && !reason.isEmpty
        }
    }

    @Test("connections beyond the limit are closed at once, and a scrape works again once some close")
    func connectionLimit() throws {
        let server = MetricsServer(host: "127.0.0.1", port: 0, maximumConnections: 4, render: { "demo 1\n" })
        let port = try server.start()
        defer { server.stop() }
        var idle = try (0..<4).map { _ in try LoopbackHTTPClient.connect(port: port) }
        defer { for fd in idle { close(fd) } }
        // Wait until the server has accepted the four.
        usleep(200_000)
        let extra = try LoopbackHTTPClient.connect(port: port)
        defer { close(extra) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        #expect(recv(extra, &byte, 1, 0) == 0, "the fifth connection was not closed by the server")
        close(idle.removeLast())
        usleep(200_000)
        #expect(try LoopbackHTTPClient.request(port: port, path: "/metrics").statusCode == 200)
    }
}
