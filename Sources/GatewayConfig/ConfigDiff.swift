public import NetworkTypes
internal import Policy

/// What changed between two configurations, for a reload and the audit log.
///
/// Changed settings are listed by key path. Changes under ``overlayChanges`` and ``nodeChanges``, and to
/// `control.socket` or `metrics.listen`, need a restart (``requiresRestart``); everything else can be
/// applied live.
public struct ConfigDiff: Sendable, Hashable, CustomStringConvertible {
    /// A peer present in both with some settings changed.
    public struct PeerChange: Sendable, Hashable {
        /// The peer's name.
        public var name: String
        /// The changed keys, for example `["endpoint", "public_key"]`.
        public var changedKeys: [String]

        public init(name: String, changedKeys: [String]) {
            self.name = name
            self.changedKeys = changedKeys
        }
    }

    /// Peers only in the new configuration, by name.
    public var peersAdded: [String] = []
    /// Peers only in the old configuration, by name.
    public var peersRemoved: [String] = []
    /// Peers in both whose settings changed, by name.
    public var peersChanged: [PeerChange] = []
    /// Subnets newly advertised, sorted.
    public var advertiseAdded: [IPPrefix] = []
    /// Subnets no longer advertised, sorted.
    public var advertiseRemoved: [IPPrefix] = []
    /// Changed `ha` keys (`ha` alone when the section was added or removed).
    public var haChanges: [String] = []
    /// Changed `overlay` keys (restart required).
    public var overlayChanges: [String] = []
    /// Changed `node` keys (restart required).
    public var nodeChanges: [String] = []
    /// Changed `timers` keys.
    public var timerChanges: [String] = []
    /// Other changed keys: `allow_public_subnets`, `kernel.*`, `control.socket`, `metrics.listen`.
    public var otherChanges: [String] = []

    /// `policy 3f2a… → 9c1d…` when the policy's contents changed.
    public var policyChange: String?

    public init() {}

    /// Computes the differences from `old` to `new`.
    public init(from old: GatewayConfiguration, to new: GatewayConfiguration) {
        let oldPeers = Dictionary(old.peers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newPeers = Dictionary(new.peers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        peersAdded = newPeers.keys.filter { oldPeers[$0] == nil }.sorted()
        peersRemoved = oldPeers.keys.filter { newPeers[$0] == nil }.sorted()
        for name in newPeers.keys.sorted() {
            guard let before = oldPeers[name], let after = newPeers[name] else { continue }
            var keys: [String] = []
            if before.publicKey != after.publicKey { keys.append("public_key") }
            if before.endpoint != after.endpoint { keys.append("endpoint") }
            if before.overlayAddress != after.overlayAddress { keys.append("overlay_address") }
            if before.persistentKeepalive != after.persistentKeepalive { keys.append("persistent_keepalive") }
            if before.keyExpires != after.keyExpires { keys.append("key_expires") }
            if before.presharedKeyFile != after.presharedKeyFile { keys.append("preshared_key_file") }
            if before.group != after.group { keys.append("group") }
            if !keys.isEmpty { peersChanged.append(PeerChange(name: name, changedKeys: keys)) }
        }

        let oldAdvertise = Set(old.advertise)
        let newAdvertise = Set(new.advertise)
        advertiseAdded = newAdvertise.subtracting(oldAdvertise).sorted()
        advertiseRemoved = oldAdvertise.subtracting(newAdvertise).sorted()

        switch (old.ha, new.ha) {
        case (nil, nil): break
        case (nil, _), (_, nil): haChanges = ["ha"]
        case (let before?, let after?):
            haChanges = Self.changed(
                [
                    ("ha.group", before.group != after.group), ("ha.priority", before.priority != after.priority),
                    ("ha.preempt", before.preempt != after.preempt),
                    ("ha.preempt_delay", before.preemptDelay != after.preemptDelay),
                    ("ha.step_down_hold", before.stepDownHold != after.stepDownHold),
                    ("ha.lan.interface", before.lan.interface != after.lan.interface),
                    ("ha.lan.virtual_ip", before.lan.virtualIP != after.lan.virtualIP),
                    ("ha.on_role_change", before.onRoleChange != after.onRoleChange),
                    ("ha.on_role_change_timeout", before.onRoleChangeTimeout != after.onRoleChangeTimeout),
                ])
        }
        overlayChanges = Self.changed([
            ("overlay.interface", old.overlay.interface != new.overlay.interface),
            ("overlay.address", old.overlay.address != new.overlay.address),
            ("overlay.listen_port", old.overlay.listenPort != new.overlay.listenPort),
            ("overlay.mtu", old.overlay.mtuBytes != new.overlay.mtuBytes),
        ])
        nodeChanges = Self.changed([
            ("node.name", old.node.name != new.node.name),
            ("node.private_key_file", old.node.privateKeyFile != new.node.privateKeyFile),
        ])
        timerChanges = Self.changed([
            ("timers.hello_interval", old.timers.helloInterval != new.timers.helloInterval),
            ("timers.dead_interval", old.timers.deadInterval != new.timers.deadInterval),
            ("timers.advertise_interval", old.timers.advertiseInterval != new.timers.advertiseInterval),
            ("timers.route_expiry", old.timers.routeExpiry != new.timers.routeExpiry),
        ])
        otherChanges = Self.changed([
            ("allow_public_subnets", old.allowPublicSubnets != new.allowPublicSubnets),
            ("advertise.probe", old.probeTargets != new.probeTargets),
            ("kernel.route_table", old.kernel.routeTable != new.kernel.routeTable),
            ("kernel.route_metric", old.kernel.routeMetric != new.kernel.routeMetric),
            ("control.socket", old.control.socket != new.control.socket),
            ("metrics.listen", old.metrics != new.metrics),
            ("limits.max_routes_per_peer", old.limits.maxRoutesPerPeer != new.limits.maxRoutesPerPeer),
            ("limits.max_prefix_length_ipv4", old.limits.maxPrefixLengthIPv4 != new.limits.maxPrefixLengthIPv4),
            ("limits.max_prefix_length_ipv6", old.limits.maxPrefixLengthIPv6 != new.limits.maxPrefixLengthIPv6),
            ("policy_file", old.policyFile != new.policyFile),
            ("firewall", old.firewall != new.firewall),
        ])
        if old.policy != new.policy {
            policyChange = "policy \(old.policy?.shortDigest ?? "none") → \(new.policy?.shortDigest ?? "none")"
        }
    }

    private static func changed(_ checks: [(String, Bool)]) -> [String] {
        checks.filter(\.1).map(\.0)
    }

    /// Whether nothing changed.
    public var isEmpty: Bool {
        peersAdded.isEmpty && peersRemoved.isEmpty && peersChanged.isEmpty && advertiseAdded.isEmpty
            && advertiseRemoved.isEmpty && haChanges.isEmpty && overlayChanges.isEmpty && nodeChanges.isEmpty
            && timerChanges.isEmpty && otherChanges.isEmpty && policyChange == nil
    }

    /// Whether applying the new configuration needs a daemon restart: the node identity, the overlay
    /// interface, the control socket or the metrics listener changed.
    public var requiresRestart: Bool {
        !overlayChanges.isEmpty || !nodeChanges.isEmpty || otherChanges.contains("control.socket")
            || otherChanges.contains("metrics.listen")
    }

    /// One line for the audit log: `peers added: gw-x; advertise removed: 10.1.0.0/24; …`, or
    /// `no changes`.
    public var description: String {
        var parts: [String] = []
        if !nodeChanges.isEmpty {
            parts.append("node changed (restart required): \(nodeChanges.joined(separator: ", "))")
        }
        if !overlayChanges.isEmpty {
            parts.append("overlay changed (restart required): \(overlayChanges.joined(separator: ", "))")
        }
        if !peersAdded.isEmpty { parts.append("peers added: \(peersAdded.joined(separator: ", "))") }
        if !peersRemoved.isEmpty { parts.append("peers removed: \(peersRemoved.joined(separator: ", "))") }
        for change in peersChanged {
            parts.append("peer \(change.name) changed: \(change.changedKeys.joined(separator: ", "))")
        }
        if !advertiseAdded.isEmpty {
            parts.append("advertise added: \(advertiseAdded.map(\.description).joined(separator: ", "))")
        }
        if !advertiseRemoved.isEmpty {
            parts.append("advertise removed: \(advertiseRemoved.map(\.description).joined(separator: ", "))")
        }
        if !haChanges.isEmpty { parts.append("ha changed: \(haChanges.joined(separator: ", "))") }
        if !timerChanges.isEmpty { parts.append("timers changed: \(timerChanges.joined(separator: ", "))") }
        if !otherChanges.isEmpty { parts.append("changed: \(otherChanges.joined(separator: ", "))") }
        if let policyChange { parts.append(policyChange) }
        return parts.isEmpty ? "no changes" : parts.joined(separator: "; ")
    }
}

/// The differences from `old` to `new`; the same as ``ConfigDiff/init(from:to:)``.
public func diff(from old: GatewayConfiguration, to new: GatewayConfiguration) -> ConfigDiff {
    ConfigDiff(from: old, to: new)
}
