import CryptoPrimitives
import NetworkTypes
import Yams

extension GatewayConfiguration {
    /// Parses and validates a `meshgated` YAML configuration.
    ///
    /// All problems are collected, in document order, rather than only the first: unknown keys, missing
    /// keys, malformed values, out-of-range numbers, and the cross-field rules (see ``ConfigError``).
    /// Pure: reads no file, so key files named in the configuration are not checked here.
    public static func parse(yaml: String) -> Result<GatewayConfiguration, ConfigErrorList> {
        let root: Node
        do {
            root = try Yams.compose(yaml: yaml) ?? .mapping(Node.Mapping([]))
        } catch {
            return .failure(ConfigErrorList([syntaxError(error)]))
        }
        var reader = ConfigReader()
        let configuration = build(root, &reader)
        if reader.errors.isEmpty, let configuration { return .success(configuration) }
        return .failure(ConfigErrorList(reader.errors))
    }

    /// `node.private_key_file` as written in `yaml`, even when the rest of the file is invalid, so a
    /// checker can report the key file's problems in the same run. Pure.
    public static func declaredPrivateKeyFile(yaml: String) -> String? {
        guard let root = try? Yams.compose(yaml: yaml), let node = root.mapping?["node"],
            let value = node.mapping?["private_key_file"]?.scalar?.string, value.hasPrefix("/")
        else { return nil }
        return value
    }

    private static func syntaxError(_ error: any Error) -> ConfigError {
        guard let yamlError = error as? YamlError else {
            return .syntax(line: 1, column: 1, message: "\(error)")
        }
        switch yamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return .syntax(line: mark.line, column: mark.column, message: "YAML syntax error: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().joined(separator: ", ")
            return .syntax(
                line: context.mark.line, column: context.mark.column,
                message: "duplicate key \(keys): each key may appear only once in a section")
        case .reader(let problem, _, _, _):
            return .syntax(line: 1, column: 1, message: "cannot read the file: \(problem)")
        default:
            return .syntax(line: 1, column: 1, message: "\(yamlError)")
        }
    }

    // swiftlint:disable:next function_body_length
    private static func build(_ root: Node, _ reader: inout ConfigReader) -> GatewayConfiguration? {
        guard let top = reader.mapping(root, at: "", allowed: ConfigSchema.root) else { return nil }

        // node
        var nodeName: String?
        var privateKeyFile: String?
        if let fields = reader.section(top, "node", allowed: ConfigSchema.node, required: true) {
            nodeName = reader.name(fields, "name", required: true)
            privateKeyFile = reader.absolutePath(fields, "private_key_file", required: true)
        }

        // overlay
        var interface: String?
        var overlayAddress: IPAddress?
        var listenPort = Defaults.listenPort
        var mtu = Defaults.mtuBytes
        if let fields = reader.section(top, "overlay", allowed: ConfigSchema.overlay, required: true) {
            interface = reader.interface(fields, "interface", required: true)
            overlayAddress = reader.address(fields, "address", required: true)
            if let port = reader.integer(fields, "listen_port", in: 1...65535) { listenPort = UInt16(port) }
            if let value = reader.integer(fields, "mtu", in: mtuRange) { mtu = value }
        }

        // advertise
        var advertised: [(prefix: IPPrefix, key: String)] = []
        var probeTargets: [IPPrefix: IPAddress] = [:]
        for item in reader.sequence(top, "advertise") ?? [] {
            // A plain prefix, or `{prefix: 10.20.10.0/24, probe: 10.20.10.100}`: a host behind the subnet
            // that answers ICMP echo, which the other gateways probe end to end.
            var key = item.path
            var probe: IPAddress?
            let text: String?
            if case .mapping = item.node {
                guard let fields = reader.mapping(item.node, at: item.path, allowed: ConfigSchema.advertiseEntry)
                else { continue }
                text = reader.text(fields, "prefix", required: true)
                key = fields.path(of: "prefix")
                probe = reader.address(fields, "probe")
            } else {
                text = reader.text(item.node, at: item.path)
            }
            guard let text else { continue }
            switch Parse.prefix(text, at: key) {
            case .success(let prefix):
                advertised.append((prefix, key))
                if let probe {
                    if prefix.contains(probe) && probe != prefix.address {
                        probeTargets[prefix] = probe
                    } else {
                        reader.record(
                            .invalidValue(
                                key: "\(item.path).probe", value: probe.description,
                                reason: "a probe target is a host inside \(prefix)"))
                    }
                }
            case .failure(let error): reader.record(error)
            }
        }
        let allowPublicSubnets = reader.bool(top, "allow_public_subnets") ?? false

        // ha
        var ha: HASettings?
        var virtualIPText: String?
        if let fields = reader.section(top, "ha", allowed: ConfigSchema.ha) {
            let group = reader.name(fields, "group", required: true)
            let priority = reader.integer(fields, "priority", in: 1...255).map(UInt8.init) ?? Defaults.priority
            let preempt = reader.bool(fields, "preempt") ?? false
            let preemptDelay = reader.duration(fields, "preempt_delay") ?? .zero
            let stepDownHold = reader.duration(fields, "step_down_hold") ?? Defaults.stepDownHold
            var lan: LANSettings?
            if let lanFields = reader.section(fields, "lan", allowed: ConfigSchema.lan, required: true) {
                let lanInterface = reader.interface(lanFields, "interface", required: true)
                virtualIPText = reader.text(lanFields, "virtual_ip", required: true)
                let virtualIP = virtualIPText.flatMap { text in
                    recordFailure(&reader, Parse.virtualIP(text, at: lanFields.path(of: "virtual_ip")))
                }
                if let lanInterface, let virtualIP { lan = LANSettings(interface: lanInterface, virtualIP: virtualIP) }
            }
            let hook = reader.roleChangeCommand(fields)
            if let group, let lan {
                ha = HASettings(
                    group: group, priority: priority, preempt: preempt, preemptDelay: preemptDelay,
                    stepDownHold: stepDownHold, lan: lan, onRoleChange: hook.command,
                    onRoleChangeTimeout: hook.timeout)
            }
        }

        // peers
        var peers: [(peer: PeerSettings, key: String)] = []
        for item in reader.sequence(top, "peers") ?? [] {
            guard let fields = reader.mapping(item.node, at: item.path, allowed: ConfigSchema.peer) else { continue }
            let name = reader.name(fields, "name", required: true)
            let publicKey = reader.value(fields, "public_key", required: true) {
                Parse.publicKey($0, at: fields.path(of: "public_key"))
            }
            let endpoint = reader.endpoint(fields, "endpoint")
            let address = reader.address(fields, "overlay_address", required: true)
            let keepalive = reader.integer(fields, "persistent_keepalive", in: 0...65535)
            let expires = reader.value(fields, "key_expires") {
                Parse.keyExpiry($0, at: fields.path(of: "key_expires"))
            }
            let presharedKeyFile = reader.absolutePath(fields, "preshared_key_file")
            let group = reader.name(fields, "group")
            if let name, let publicKey, let address {
                let peer = PeerSettings(
                    name: name, publicKey: publicKey, endpoint: endpoint, overlayAddress: address,
                    persistentKeepalive: keepalive.flatMap { $0 == 0 ? nil : .seconds($0) }, keyExpires: expires,
                    presharedKeyFile: presharedKeyFile, group: group)
                peers.append((peer, item.path))
            }
        }

        // control, metrics
        var controlSocket = Defaults.controlSocket
        if let fields = reader.section(top, "control", allowed: ConfigSchema.control),
            let socket = reader.absolutePath(fields, "socket")
        {
            controlSocket = socket
        }
        var metrics: MetricsSettings?
        if let fields = reader.section(top, "metrics", allowed: ConfigSchema.metrics),
            let listen = reader.endpoint(fields, "listen", required: true)
        {
            metrics = MetricsSettings(listen: listen)
        }

        let policyFile = reader.absolutePath(top, "policy_file")
        var firewall: FirewallSettings?
        if let fields = reader.section(top, "firewall", allowed: ConfigSchema.firewall) {
            let enabled = reader.bool(fields, "enabled") ?? false
            var sources: [IPPrefix] = []
            for item in reader.sequence(fields, "management_sources") ?? [] {
                guard let text = reader.text(item.node, at: item.path) else { continue }
                switch Parse.prefix(text, at: item.path) {
                case .success(let prefix): sources.append(prefix.canonical)
                case .failure(let error): reader.record(error)
                }
            }
            let sshPort = reader.integer(fields, "ssh_port", in: 1...65535).map(UInt16.init) ?? 22
            if enabled && sources.isEmpty {
                reader.record(
                    .invalidValue(
                        key: "firewall.management_sources", value: "[]",
                        reason: "the firewall is enabled; without management sources nobody could reach SSH or metrics"
                    ))
            }
            if enabled { firewall = FirewallSettings(managementSources: sources, sshPort: sshPort) }
        }

        let timers = readTimers(top, &reader)
        let kernel = readKernel(top, &reader)
        let limits = readLimits(top, &reader)

        // Cross-field rules.
        let accepted = validateAdvertise(
            advertised, allowPublicSubnets: allowPublicSubnets, overlayAddress: overlayAddress, peers: peers,
            &reader)
        if let ha, let virtualIPText {
            let subnet = ha.lan.virtualIP.canonical
            // Compare with every parsed entry (canonicalised), so a rejected entry is reported once.
            if !advertised.contains(where: { $0.prefix.canonical.contains(subnet) }) {
                reader.record(
                    .invalidValue(
                        key: "ha.lan.virtual_ip", value: virtualIPText,
                        reason: "its subnet \(subnet) is not in advertise; the group's LAN must be advertised"))
            }
        }
        let ownEntry = validatePeers(peers, nodeName: nodeName, overlayAddress: overlayAddress, &reader)
        if let ownEntry, let declared = ownEntry.group, declared != ha?.group,
            let item = peers.first(where: { $0.peer.name == ownEntry.name })
        {
            reader.record(
                .invalidValue(
                    key: "\(item.key).group", value: declared,
                    reason:
                        "this entry describes this node, whose ha.group is \(ha?.group ?? "not set"); the shared list must say the same"
                ))
        }
        for (prefix, key) in advertised where prefix.isCanonical {
            let longest = prefix.address.isV4 ? limits.maxPrefixLengthIPv4 : limits.maxPrefixLengthIPv6
            if prefix.length > longest {
                reader.record(
                    .invalidValue(
                        key: key, value: prefix.description,
                        reason:
                            "longer than limits.max_prefix_length_\(prefix.address.isV4 ? "ipv4" : "ipv6") (/\(longest)); gateways with the same limits would refuse it"
                    ))
            }
        }
        if advertised.count > limits.maxRoutesPerPeer {
            reader.record(
                .invalidValue(
                    key: "advertise", value: "\(advertised.count) subnets",
                    reason:
                        "more than limits.max_routes_per_peer (\(limits.maxRoutesPerPeer)); gateways with the same limits would refuse the rest"
                ))
        }

        guard let nodeName, let privateKeyFile, let interface, let overlayAddress else { return nil }
        var configuration = GatewayConfiguration(
            node: NodeSettings(name: nodeName, privateKeyFile: privateKeyFile),
            overlay: OverlaySettings(
                interface: interface, address: overlayAddress, listenPort: listenPort, mtuBytes: mtu),
            advertise: accepted, allowPublicSubnets: allowPublicSubnets, ha: ha,
            peers: peers.map(\.peer).filter { $0.name != nodeName }, ownPeerEntry: ownEntry,
            control: ControlSettings(socket: controlSocket), metrics: metrics, timers: timers, kernel: kernel,
            limits: limits, policyFile: policyFile, firewall: firewall)
        configuration.probeTargets = probeTargets.filter { accepted.contains($0.key) }
        return configuration
    }

    private static func recordFailure<T>(_ reader: inout ConfigReader, _ result: Result<T, ConfigError>) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let error):
            reader.record(error)
            return nil
        }
    }

    private static func readTimers(_ top: ConfigReader.Fields, _ reader: inout ConfigReader) -> TimerSettings {
        var timers = TimerSettings(
            helloInterval: Defaults.helloInterval, deadInterval: Defaults.deadInterval,
            advertiseInterval: Defaults.advertiseInterval, routeExpiry: Defaults.routeExpiry)
        guard let fields = reader.section(top, "timers", allowed: ConfigSchema.timers) else { return timers }
        let hello = reader.duration(fields, "hello_interval")
        let dead = reader.duration(fields, "dead_interval")
        let advertise = reader.duration(fields, "advertise_interval")
        let expiry = reader.duration(fields, "route_expiry")
        if let hello {
            if hello < .milliseconds(10) {
                reader.record(
                    .invalidValue(
                        key: "timers.hello_interval", value: hello.configText, reason: "must be at least 10ms"))
            } else {
                timers.helloInterval = hello
            }
        }
        if let dead { timers.deadInterval = dead }
        if let advertise {
            if advertise < .milliseconds(100) {
                reader.record(
                    .invalidValue(
                        key: "timers.advertise_interval", value: advertise.configText, reason: "must be at least 100ms")
                )
            } else {
                timers.advertiseInterval = advertise
            }
        }
        if let expiry { timers.routeExpiry = expiry }
        if timers.deadInterval < timers.helloInterval * 3 {
            reader.record(
                .invalidValue(
                    key: "timers.dead_interval", value: timers.deadInterval.configText,
                    reason:
                        "must be at least 3 × hello_interval (\((timers.helloInterval * 3).configText)) so that one lost hello does not declare a member dead"
                ))
        }
        if timers.routeExpiry < timers.advertiseInterval * 2 {
            reader.record(
                .invalidValue(
                    key: "timers.route_expiry", value: timers.routeExpiry.configText,
                    reason:
                        "must be at least 2 × advertise_interval (\((timers.advertiseInterval * 2).configText)) so that one lost advertisement does not drop routes"
                ))
        }
        return timers
    }

    private static func readLimits(_ top: ConfigReader.Fields, _ reader: inout ConfigReader) -> LimitSettings {
        var limits = LimitSettings.standard
        guard let fields = reader.section(top, "limits", allowed: ConfigSchema.limits) else { return limits }
        if let count = reader.integer(fields, "max_routes_per_peer", in: 1...65535) { limits.maxRoutesPerPeer = count }
        if let length = reader.integer(fields, "max_prefix_length_ipv4", in: 8...32) {
            limits.maxPrefixLengthIPv4 = length
        }
        if let length = reader.integer(fields, "max_prefix_length_ipv6", in: 16...128) {
            limits.maxPrefixLengthIPv6 = length
        }
        return limits
    }

    private static func readKernel(_ top: ConfigReader.Fields, _ reader: inout ConfigReader) -> KernelSettings {
        var kernel = KernelSettings(routeTable: Defaults.routeTable, routeMetric: Defaults.routeMetric)
        guard let fields = reader.section(top, "kernel", allowed: ConfigSchema.kernel) else { return kernel }
        if let table = reader.value(fields, "route_table", { Parse.routeTable($0, at: "kernel.route_table") }) {
            kernel.routeTable = table
        }
        if let metric = reader.integer(fields, "route_metric", in: 0...Int(UInt32.max)) {
            kernel.routeMetric = UInt32(metric)
        }
        return kernel
    }

    /// Checks the advertised prefixes and returns the valid ones in file order.
    private static func validateAdvertise(
        _ advertised: [(prefix: IPPrefix, key: String)], allowPublicSubnets: Bool, overlayAddress: IPAddress?,
        peers: [(peer: PeerSettings, key: String)], _ reader: inout ConfigReader
    ) -> [IPPrefix] {
        // Linear in the list: each accepted prefix is indexed under itself and every shorter mask of it,
        // so "is inside an accepted prefix" and "contains one" are a few dictionary lookups, not a scan.
        var accepted: [(prefix: IPPrefix, key: String)] = []
        var acceptedKeys: [IPPrefix: String] = [:]
        var ancestors: [IPPrefix: IPPrefix] = [:]
        // Overlay addresses are routed through the overlay interface; a LAN subnet must not contain one.
        var overlayAddresses: [(address: IPAddress, key: String)] = peers.map {
            ($0.peer.overlayAddress, "\($0.key).overlay_address")
        }
        if let overlayAddress { overlayAddresses.insert((overlayAddress, "overlay.address"), at: 0) }
        func masks(of prefix: IPPrefix) -> [IPPrefix] {
            (0...prefix.length).compactMap { IPPrefix(address: prefix.address, length: $0)?.canonical }
        }
        for (prefix, key) in advertised {
            guard prefix.isCanonical else {
                reader.record(
                    .nonCanonicalPrefix(key: key, value: prefix.description, canonical: prefix.canonical.description))
                continue
            }
            guard allowPublicSubnets || prefix.isPrivate else {
                reader.record(.publicSubnet(key: key, value: prefix.description))
                continue
            }
            if let first = acceptedKeys[prefix] {
                reader.record(.duplicate(key: key, value: prefix.description, firstKey: first))
                continue
            }
            let outer = masks(of: prefix).first { acceptedKeys[$0] != nil }
            if let other = outer ?? ancestors[prefix], let otherKey = acceptedKeys[other] {
                reader.record(
                    .overlappingSubnets(
                        key: key, value: prefix.description, otherKey: otherKey, otherValue: other.description))
                continue
            }
            if let clash = overlayAddresses.first(where: { prefix.contains($0.address) }) {
                reader.record(
                    .overlappingSubnets(
                        key: key, value: prefix.description, otherKey: clash.key, otherValue: clash.address.description)
                )
                continue
            }
            accepted.append((prefix, key))
            acceptedKeys[prefix] = key
            for mask in masks(of: prefix) where ancestors[mask] == nil { ancestors[mask] = prefix }
        }
        return accepted.map(\.prefix)
    }

    /// Checks uniqueness of peer names, keys and overlay addresses; returns this node's own entry when
    /// the list is shared by every gateway and includes it.
    private static func validatePeers(
        _ peers: [(peer: PeerSettings, key: String)], nodeName: String?, overlayAddress: IPAddress?,
        _ reader: inout ConfigReader
    ) -> PeerSettings? {
        var names: [String: String] = [:]
        var keys: [Key32: String] = [:]
        var addresses: [IPAddress: String] = [:]
        if let overlayAddress { addresses[overlayAddress] = "overlay.address" }
        var ownEntry: PeerSettings?
        for (peer, key) in peers {
            if let first = names[peer.name] {
                reader.record(.duplicate(key: "\(key).name", value: peer.name, firstKey: first))
                continue
            }
            names[peer.name] = "\(key).name"
            if let first = keys[peer.publicKey] {
                reader.record(.duplicate(key: "\(key).public_key", value: peer.publicKey.base64, firstKey: first))
            } else {
                keys[peer.publicKey] = "\(key).public_key"
            }
            if peer.name == nodeName {
                // A peer list shared by every gateway includes this node: accept it when consistent.
                if peer.overlayAddress != overlayAddress {
                    reader.record(
                        .invalidValue(
                            key: "\(key).overlay_address", value: peer.overlayAddress.description,
                            reason:
                                "this entry has this node's name (node.name) and must describe it: overlay.address is \(overlayAddress?.description ?? "not set")"
                        ))
                } else {
                    ownEntry = peer
                }
                continue
            }
            if let first = addresses[peer.overlayAddress] {
                reader.record(
                    .duplicate(key: "\(key).overlay_address", value: peer.overlayAddress.description, firstKey: first))
            } else {
                addresses[peer.overlayAddress] = "\(key).overlay_address"
            }
        }
        return ownEntry
    }
}

extension Parse {
    /// An address with its subnet length (`10.10.10.1/24`): host bits expected, but neither the network
    /// nor (IPv4) the broadcast address.
    static func virtualIP(_ text: String, at path: String) -> Result<IPPrefix, ConfigError> {
        guard text.contains("/") else {
            return .failure(
                .invalidValue(key: path, value: text, reason: "expected address/length, such as 10.10.10.1/24"))
        }
        let prefix: IPPrefix
        switch IPPrefix.parse(text) {
        case .success(let parsed): prefix = parsed
        case .failure(let error): return .failure(.invalidValue(key: path, value: text, reason: error.description))
        }
        let hostBits = prefix.address.bitLength - prefix.length
        if hostBits >= 2 && prefix.isCanonical {
            return .failure(
                .invalidValue(
                    key: path, value: text, reason: "is the network address of its subnet, not a host address"))
        }
        if case .v4(let address) = prefix.address, hostBits >= 2 {
            let hostMask = UInt32.max >> UInt32(prefix.length)
            if address.value & hostMask == hostMask {
                return .failure(
                    .invalidValue(key: path, value: text, reason: "is the broadcast address of its subnet"))
            }
        }
        return .success(prefix)
    }

    /// A routing table id or name: `main` (254), `default` (253), or 1-4294967295 except 255 (`local`).
    static func routeTable(_ text: String, at path: String) -> Result<UInt32, ConfigError> {
        switch text {
        case "main": return .success(254)
        case "default": return .success(253)
        case "local", "255":
            return .failure(
                .invalidValue(key: path, value: text, reason: "table 255 (local) belongs to the kernel"))
        default:
            switch integer(text, in: 1...Int(UInt32.max), at: path) {
            case .success(let value): return .success(UInt32(value))
            case .failure(let error): return .failure(error)
            }
        }
    }
}

extension Duration {
    /// The shortest exact configuration text (`400ms`, `5s`, `2m`), for error messages and diffs.
    var configText: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds == 0 { return "0" }
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
