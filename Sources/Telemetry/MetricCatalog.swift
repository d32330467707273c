/// Every metric family meshgated exports, in one place: name, help text, type, label names and histogram
/// buckets. ``MetricsRegistry`` creates series only from these definitions, so a name or label set that is
/// not listed here cannot reach `/metrics`.
///
/// Naming follows the Prometheus conventions (https://prometheus.io/docs/practices/naming/): the
/// `meshgate_` prefix, snake_case, base units (seconds, bytes, ratios 0–1), `_total` on counters and
/// `_timestamp_seconds` on Unix times. Labels stay low-cardinality: a configured peer name, a subnet, a
/// gateway name, an HA group, an address family, a drop reason, a handshake result, the build version.
public enum MetricCatalog {
    // MARK: - Peers (label `peer` = the peer's configured name)

    /// `meshgate_peer_up{peer}`: 1 while the tunnel to the peer is up, 0 while it is down.
    public static let peerUp = MetricDefinition(
        name: "meshgate_peer_up",
        help: "Whether the tunnel to the peer is up (1) or down (0), as this gateway judges it.",
        kind: .gauge,
        labelNames: ["peer"]
    )

    /// `meshgate_peer_last_handshake_timestamp_seconds{peer}`: Unix time of the last completed handshake.
    public static let peerLastHandshakeTimestamp = MetricDefinition(
        name: "meshgate_peer_last_handshake_timestamp_seconds",
        help: "Unix time of the last completed WireGuard handshake with the peer, 0 if there was none yet.",
        kind: .gauge,
        labelNames: ["peer"]
    )

    /// `meshgate_peer_receive_bytes_total{peer}`: bytes received from the peer, fed from absolute totals.
    public static let peerReceiveBytes = MetricDefinition(
        name: "meshgate_peer_receive_bytes_total",
        help: "Bytes received from the peer through the tunnel, as WireGuard counts them.",
        kind: .counter,
        labelNames: ["peer"]
    )

    /// `meshgate_peer_transmit_bytes_total{peer}`: bytes sent to the peer, fed from absolute totals.
    public static let peerTransmitBytes = MetricDefinition(
        name: "meshgate_peer_transmit_bytes_total",
        help: "Bytes sent to the peer through the tunnel, as WireGuard counts them.",
        kind: .counter,
        labelNames: ["peer"]
    )

    /// `meshgate_peer_rtt_seconds{peer}`: overlay probe round trips, 0.1 ms to 1 s in a 1-2.5-5 series.
    public static let peerRTT = MetricDefinition(
        name: "meshgate_peer_rtt_seconds",
        help: "Round-trip time of the built-in overlay probes to the peer, through the tunnel.",
        kind: .histogram(buckets: [
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
        ]),
        labelNames: ["peer"]
    )

    /// `meshgate_peer_probe_loss_ratio{peer}`: unanswered share of the recent probe window, 0 to 1.
    public static let peerProbeLoss = MetricDefinition(
        name: "meshgate_peer_probe_loss_ratio",
        help: "Share of the recent overlay probes to the peer that got no answer, from 0 to 1.",
        kind: .gauge,
        labelNames: ["peer"]
    )

    /// `meshgate_peer_key_expiry_timestamp_seconds{peer}`: the peer's `key_expires`; absent when unset.
    public static let peerKeyExpiryTimestamp = MetricDefinition(
        name: "meshgate_peer_key_expiry_timestamp_seconds",
        help: "Unix time at which the peer's configured key expires (key_expires); absent when none is set.",
        kind: .gauge,
        labelNames: ["peer"]
    )

    // MARK: - Routes and HA

    /// `meshgate_route_primary{subnet,gateway}`: 1 for the subnet's elected primary, 0 for gateways that were.
    public static let routePrimary = MetricDefinition(
        name: "meshgate_route_primary",
        help: "1 when the gateway is the elected primary for the subnet, 0 for a gateway that no longer is.",
        kind: .gauge,
        labelNames: ["subnet", "gateway"]
    )

    /// `meshgate_routes_installed`: routes meshgate owns in the kernel routing table.
    public static let routesInstalled = MetricDefinition(
        name: "meshgate_routes_installed",
        help: "Routes meshgate currently has installed in the kernel routing table.",
        kind: .gauge,
        labelNames: []
    )

    /// `meshgate_route_last_change_timestamp_seconds`: Unix time of the last change to installed routes.
    public static let routeLastChangeTimestamp = MetricDefinition(
        name: "meshgate_route_last_change_timestamp_seconds",
        help: "Unix time of the last change to the routes meshgate installed, 0 if none since start.",
        kind: .gauge,
        labelNames: []
    )

    /// `meshgate_failovers_total{group}`: times this gateway saw a new primary take over in the HA group.
    public static let failovers = MetricDefinition(
        name: "meshgate_failovers_total",
        help: "Failovers in the HA group: times a new primary took over from a failed or departing one.",
        kind: .counter,
        labelNames: ["group"]
    )

    /// `meshgate_failover_duration_seconds`: from losing the old primary to the new one serving.
    ///
    /// With the default timers (hello 100 ms, dead 400 ms) a failover takes about 0.4–0.6 s; the buckets
    /// resolve that range and still place slow ones (tuned timers, drills with holds) up to 30 s.
    public static let failoverDuration = MetricDefinition(
        name: "meshgate_failover_duration_seconds",
        help: "Time from losing the old primary to the new primary taking over, one observation per failover.",
        kind: .histogram(buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30]),
        labelNames: []
    )

    /// `meshgate_ha_role{group}`: this gateway's role in the HA group.
    public static let haRole = MetricDefinition(
        name: "meshgate_ha_role",
        help: "This gateway's role in the HA group: 1 primary, 0 standby.",
        kind: .gauge,
        labelNames: ["group"]
    )

    // MARK: - Kernel and data plane

    /// `meshgate_ip_forwarding_enabled{family}`: the `ip_forward` sysctl of each routed address family.
    public static let ipForwardingEnabled = MetricDefinition(
        name: "meshgate_ip_forwarding_enabled",
        help: "Whether the kernel forwards packets of the address family "
            + "(net.ipv4.ip_forward, net.ipv6.conf.all.forwarding): 1 on, 0 off.",
        kind: .gauge,
        labelNames: ["family"]
    )

    /// `meshgate_mss_clamped_packets_total`: packets that hit the nftables MSS clamp rule.
    public static let mssClampedPackets = MetricDefinition(
        name: "meshgate_mss_clamped_packets_total",
        help: "TCP SYN packets that matched meshgate's nftables MSS clamp rule.",
        kind: .counter,
        labelNames: []
    )

    /// `meshgate_policy_enforced`: 1 while a least-privilege policy is loaded in the kernel, 0 when none is
    /// (every flow between sites is forwarded).
    public static let policyEnforced = MetricDefinition(
        name: "meshgate_policy_enforced",
        help:
            "1 if a least-privilege policy is enforced on forwarded traffic, 0 if all traffic between sites is allowed.",
        kind: .gauge,
        labelNames: []
    )

    /// `meshgate_policy_packets_total{rule}`: new flows' packets each policy rule accepted, and
    /// `rule="default-deny"` for those no rule accepted (dropped).
    public static let policyPackets = MetricDefinition(
        name: "meshgate_policy_packets_total",
        help: "Forwarded packets decided by each policy rule (first packets of flows; default-deny: dropped).",
        kind: .counter,
        labelNames: ["rule"]
    )

    /// `meshgate_policy_bytes_total{rule}`: the bytes of those packets.
    public static let policyBytes = MetricDefinition(
        name: "meshgate_policy_bytes_total",
        help: "Bytes of the forwarded packets decided by each policy rule.",
        kind: .counter,
        labelNames: ["rule"]
    )

    /// `meshgate_firewall_dropped_packets_total`: packets to the gateway itself dropped by the input baseline.
    public static let firewallDroppedPackets = MetricDefinition(
        name: "meshgate_firewall_dropped_packets_total",
        help: "Packets addressed to the gateway that the input baseline dropped.",
        kind: .counter,
        labelNames: []
    )

    /// `meshgate_routes_refused_total{reason}`: learned prefixes refused (`not_approved` by the policy, or `other`).
    public static let routesRefused = MetricDefinition(
        name: "meshgate_routes_refused_total",
        help: "Learned prefixes refused: not_approved by the policy's autoApprovers, or other (limits, overlaps).",
        kind: .counter,
        labelNames: ["reason"]
    )

    /// `meshgate_packets_dropped_total{reason}`: data-plane drops; `reason` is a `DropReason` raw value.
    public static let packetsDropped = MetricDefinition(
        name: "meshgate_packets_dropped_total",
        help: "Packets the data plane dropped, by reason.",
        kind: .counter,
        labelNames: ["reason"]
    )

    /// `meshgate_route_messages_dropped_total{reason}`: route-protocol datagrams refused by the decoder or
    /// the origin check; `reason` is an `AdvertisementDecodeError` label or `sender_mismatch`.
    public static let routeMessagesDropped = MetricDefinition(
        name: "meshgate_route_messages_dropped_total",
        help: "Route-protocol messages from peers that were refused, by reason.",
        kind: .counter,
        labelNames: ["reason"]
    )

    /// `meshgate_handshakes_total{result}`: WireGuard handshakes by result (a short snake_case word).
    public static let handshakes = MetricDefinition(
        name: "meshgate_handshakes_total",
        help: "WireGuard handshakes, by result.",
        kind: .counter,
        labelNames: ["result"]
    )

    /// `meshgate_role_change_hook_runs_total{result}`: runs of `ha.on_role_change`; `result` is `ok`,
    /// `failed` (non-zero exit or a signal), `timed_out` (killed at the timeout) or `spawn_failed`.
    public static let roleChangeHookRuns = MetricDefinition(
        name: "meshgate_role_change_hook_runs_total",
        help: "Runs of the ha.on_role_change command, by result.",
        kind: .counter,
        labelNames: ["result"]
    )

    /// `meshgate_build_info{version}`: always 1; the label carries the version.
    public static let buildInfo = MetricDefinition(
        name: "meshgate_build_info",
        help: "Always 1; the version label names the running meshgated build.",
        kind: .gauge,
        labelNames: ["version"]
    )

    // MARK: - Health and end-to-end paths

    /// `meshgate_health_problems{kind,severity}`: how many problems of each kind the gateway sees now;
    /// every kind is exported (0 when absent) at its severity.
    public static let healthProblems = MetricDefinition(
        name: "meshgate_health_problems",
        help:
            "Problems this gateway sees now, by kind (see `meshgate status`): non-zero means traffic is or may be dropped.",
        kind: .gauge,
        labelNames: ["kind", "severity"]
    )

    /// `meshgate_health_status`: 0 OK, 1 warning, 2 critical (what `meshgate health` exits with).
    public static let healthStatus = MetricDefinition(
        name: "meshgate_health_status",
        help: "The health verdict: 0 OK, 1 warning, 2 critical (the exit status of `meshgate health`).",
        kind: .gauge,
        labelNames: []
    )

    /// `meshgate_forwarding_disabled_total{switch}`: times a forwarding sysctl was found off.
    public static let forwardingDisabled = MetricDefinition(
        name: "meshgate_forwarding_disabled_total",
        help: "Times a forwarding sysctl this gateway needs was found switched off (global ones are switched back on).",
        kind: .counter,
        labelNames: ["switch"]
    )

    /// `meshgate_ruleset_changes_total`: times meshgate's nftables table was found changed and reinstalled.
    public static let rulesetChanges = MetricDefinition(
        name: "meshgate_ruleset_changes_total",
        help: "Times meshgate's nftables table (MSS clamp, policy) was found missing or changed and was reinstalled.",
        kind: .counter,
        labelNames: []
    )

    /// `meshgate_path_up{subnet,target}`: 1 while end-to-end probes to the host behind a remote subnet are
    /// answered, 0 when they are not.
    public static let pathUp = MetricDefinition(
        name: "meshgate_path_up",
        help:
            "Whether end-to-end probes from this gateway's LAN side to the target behind the remote subnet are answered.",
        kind: .gauge,
        labelNames: ["subnet", "target"]
    )

    /// `meshgate_path_rtt_seconds{subnet}`: end-to-end probe round trips (site pair RTT).
    public static let pathRTT = MetricDefinition(
        name: "meshgate_path_rtt_seconds",
        help: "Round-trip time of the end-to-end probes to the target behind the remote subnet, LAN side to LAN side.",
        kind: .histogram(buckets: [
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
        ]),
        labelNames: ["subnet"]
    )

    /// `meshgate_path_loss_ratio{subnet}`: unanswered share of the recent end-to-end probes.
    public static let pathLoss = MetricDefinition(
        name: "meshgate_path_loss_ratio",
        help: "Share of the recent end-to-end probes to the target behind the remote subnet that got no answer.",
        kind: .gauge,
        labelNames: ["subnet"]
    )

    /// `meshgate_peer_direct_link_up{peer}`: 1 while the direct tunnel to the peer carries keepalives both ways.
    public static let peerDirectLinkUp = MetricDefinition(
        name: "meshgate_peer_direct_link_up",
        help: "Whether the direct tunnel to the peer carries traffic both ways (keepalives heard, and it hears us).",
        kind: .gauge,
        labelNames: ["peer"]
    )

    /// `meshgate_peer_path{peer,via}`: 1 for the path the peer's subnets take now (`via="direct"` or a relay).
    public static let peerPath = MetricDefinition(
        name: "meshgate_peer_path",
        help: "The path the peer's subnets take now: via=\"direct\" or the relaying gateway (value 1).",
        kind: .gauge,
        labelNames: ["peer", "via"]
    )

    /// `meshgate_path_changes_total{peer}`: switches between the direct path and relays.
    public static let pathChanges = MetricDefinition(
        name: "meshgate_path_changes_total",
        help: "Times the path to the peer's subnets changed (direct to relay, relay to direct, relay to relay).",
        kind: .counter,
        labelNames: ["peer"]
    )

    /// `meshgate_relay_transit_bytes_total`: what this gateway relayed between two tunnels for others.
    public static let relayTransitBytes = MetricDefinition(
        name: "meshgate_relay_transit_bytes_total",
        help: "Bytes this gateway passed on between two tunnels as a relay for other gateways.",
        kind: .counter,
        labelNames: []
    )

    /// `meshgate_relay_transit_packets_total`.
    public static let relayTransitPackets = MetricDefinition(
        name: "meshgate_relay_transit_packets_total",
        help: "Packets this gateway passed on between two tunnels as a relay for other gateways.",
        kind: .counter,
        labelNames: []
    )

    /// `meshgate_relay_loop_dropped_packets_total`: transit that would have gone through a second relay.
    public static let relayLoopDropped = MetricDefinition(
        name: "meshgate_relay_loop_dropped_packets_total",
        help: "Relayed packets dropped because this gateway would have sent them through a relay again.",
        kind: .counter,
        labelNames: []
    )

    /// Every definition above, in the order of the list.
    public static let all: [MetricDefinition] = [
        peerUp, peerLastHandshakeTimestamp, peerReceiveBytes, peerTransmitBytes, peerRTT, peerProbeLoss,
        peerKeyExpiryTimestamp,
        routePrimary, routesInstalled, routeLastChangeTimestamp, failovers, failoverDuration, haRole,
        ipForwardingEnabled, mssClampedPackets, packetsDropped, routeMessagesDropped, handshakes,
        roleChangeHookRuns, buildInfo, policyEnforced, policyPackets, policyBytes, firewallDroppedPackets,
        routesRefused, healthProblems, healthStatus, forwardingDisabled, rulesetChanges, pathUp, pathRTT,
        pathLoss, peerDirectLinkUp, peerPath, pathChanges, relayTransitBytes, relayTransitPackets, relayLoopDropped,
    ]

    /// The per-peer definitions: the series ``MetricsRegistry/removePeer(name:)`` deletes.
    static let perPeer: [MetricDefinition] = [
        peerUp, peerLastHandshakeTimestamp, peerReceiveBytes, peerTransmitBytes, peerRTT, peerProbeLoss,
        peerKeyExpiryTimestamp, peerDirectLinkUp, pathChanges,
    ]
}
