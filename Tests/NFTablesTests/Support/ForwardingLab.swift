import Foundation
import NFTables

/// Three namespaces, client — router — server, the router forwarding between two veth pairs:
///
///     client c0 ─── rc0 router ovl0 (mtu 1280) ─── s0 server
///     10.91.1.2     10.91.1.1      10.91.2.1       10.91.2.2
///     fd00:91:1::2  fd00:91:1::1   fd00:91:2::1    fd00:91:2::2
///
/// `ovl0` stands in for the overlay. Client and server keep MTU 1500, so both advertise MSS 1460 (IPv4) or
/// 1440 (IPv6) unless the router clamps. Names are per namespace, so labs never collide. ``remove()`` deletes
/// all three namespaces (and with them the veths).
struct ForwardingLab {
    let client: TestNamespace
    let router: TestNamespace
    let server: TestNamespace
    static let overlayInterface = "ovl0"
    static let serverPort = 5201

    init() throws {
        client = try TestNamespace(role: "client")
        var made = [client]
        do {
            router = try TestNamespace(role: "router")
            made.append(router)
            server = try TestNamespace(role: "server")
            made.append(server)
            try Self.wire(client: client.name, router: router.name, server: server.name)
        } catch {
            for namespace in made { namespace.remove() }
            throw error
        }
    }

    private static func wire(client: String, router: String, server: String) throws {
        // Without DAD the link-local addresses are usable at once; otherwise neighbour discovery can stall the
        // first IPv6 SYN for a second and TCP retransmits it.
        for namespace in [client, router, server] {
            try Shell.check(
                "ip", "netns", "exec", namespace, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0")
        }
        try Shell.check("ip", "-n", router, "link", "add", "rc0", "type", "veth", "peer", "name", "c0", "netns", client)
        try Shell.check(
            "ip", "-n", router, "link", "add", overlayInterface, "mtu", "1280", "type", "veth", "peer", "name", "s0",
            "netns", server)
        let addresses = [
            (client, "c0", "10.91.1.2/24", "fd00:91:1::2/64"), (router, "rc0", "10.91.1.1/24", "fd00:91:1::1/64"),
            (router, overlayInterface, "10.91.2.1/24", "fd00:91:2::1/64"),
            (server, "s0", "10.91.2.2/24", "fd00:91:2::2/64"),
        ]
        for (namespace, interface, ipv4, ipv6) in addresses {
            try Shell.check("ip", "-n", namespace, "addr", "add", ipv4, "dev", interface)
            try Shell.check("ip", "-n", namespace, "-6", "addr", "add", ipv6, "dev", interface, "nodad")
            try Shell.check("ip", "-n", namespace, "link", "set", interface, "up")
        }
        for (namespace, ipv4, ipv6) in [(client, "10.91.1.1", "fd00:91:1::1"), (server, "10.91.2.1", "fd00:91:2::1")] {
            try Shell.check("ip", "-n", namespace, "route", "add", "default", "via", ipv4)
            try Shell.check("ip", "-n", namespace, "-6", "route", "add", "default", "via", ipv6)
        }
        try Shell.check("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        try Shell.check("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")
    }

    /// Deletes the three namespaces; returns the names of any that leaked.
    func remove() -> [String] {
        [client, router, server].compactMap { $0.remove() }
    }

    /// The first TCP segment `tshark` sees on `interface` in `namespace` matching `filter`, as
    /// `syn`, `ack` and `mss` fields. Start it, wait for ``waitUntilCapturing()``, send, then ``result()``.
    final class Capture {
        let command: BackgroundCommand

        init(namespace: TestNamespace, interface: String, filter: String) throws {
            command = try BackgroundCommand([
                "ip", "netns", "exec", namespace.name, "tshark", "-n", "-i", interface, "-f", filter, "-c", "1",
                "-a", "duration:20", "-T", "fields", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e",
                "tcp.options.mss_val",
            ])
        }

        func waitUntilCapturing() throws {
            guard command.wait(upTo: .seconds(20), until: { command.standardError.contains("Capturing on") }) else {
                throw ShellError(description: "tshark did not start: \(command.standardError)")
            }
        }

        /// The captured segment's fields, e.g. `["1", "0", "1240"]`.
        func result() throws -> [String] {
            let finished = try command.waitForExit(upTo: .seconds(25))
            let line = finished.standardOutput.split(separator: "\n").first.map(String.init) ?? ""
            return line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// Opens one TCP connection from the client to a listener on the server, and closes it. With `clientMSS`,
    /// the client advertises that MSS (TCP_MAXSEG) instead of the 1460 its MTU gives.
    func connect(serverAddress: String, clientMSS: Int? = nil) throws {
        let listener = try BackgroundCommand([
            "ip", "netns", "exec", server.name, "python3", "-c",
            """
            import socket, sys
            l = socket.socket(socket.AF_INET6)
            l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("::", \(Self.serverPort)))
            l.listen(4)
            print("listening", flush=True)
            l.settimeout(20)
            c, _ = l.accept()
            c.close()
            """,
        ])
        guard listener.wait(upTo: .seconds(20), until: { listener.standardOutput.contains("listening") }) else {
            throw ShellError(description: "listener did not start: \(listener.standardError)")
        }
        let family = serverAddress.contains(":") ? "AF_INET6" : "AF_INET"
        try Shell.check(
            "ip", "netns", "exec", client.name, "python3", "-c",
            """
            import socket
            s = socket.socket(socket.\(family))
            \(clientMSS.map { "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, \($0))" } ?? "")
            s.settimeout(10)
            s.connect(("\(serverAddress)", \(Self.serverPort)))
            s.close()
            """)
        try listener.waitForExit(upTo: .seconds(20))
    }
}
