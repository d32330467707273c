/// The keys each section of the configuration accepts: the single source for rejecting unknown keys
/// and for suggesting the closest known key in the message.
enum ConfigSchema {
    static let root: Set<String> = [
        "node", "overlay", "advertise", "allow_public_subnets", "ha", "peers", "control", "metrics", "timers",
        "kernel", "limits", "policy_file", "firewall",
    ]
    static let firewall: Set<String> = ["enabled", "management_sources", "ssh_port"]
    static let node: Set<String> = ["name", "private_key_file"]
    static let overlay: Set<String> = ["interface", "address", "listen_port", "mtu"]
    static let ha: Set<String> = [
        "group", "priority", "preempt", "preempt_delay", "step_down_hold", "lan", "on_role_change",
        "on_role_change_timeout",
    ]
    static let lan: Set<String> = ["interface", "virtual_ip"]
    static let peer: Set<String> = [
        "name", "public_key", "endpoint", "overlay_address", "persistent_keepalive", "key_expires",
        "preshared_key_file", "group",
    ]
    static let control: Set<String> = ["socket"]
    static let metrics: Set<String> = ["listen"]
    static let advertiseEntry: Set<String> = ["prefix", "probe"]
    static let timers: Set<String> = ["hello_interval", "dead_interval", "advertise_interval", "route_expiry"]
    static let kernel: Set<String> = ["route_table", "route_metric"]
    static let limits: Set<String> = ["max_routes_per_peer", "max_prefix_length_ipv4", "max_prefix_length_ipv6"]

    /// Allowed keys by parent path, with sequence indices written `[]`.
    static let sections: [String: Set<String>] = [
        "": root, "node": node, "overlay": overlay, "ha": ha, "ha.lan": lan, "peers[]": peer, "control": control,
        "metrics": metrics, "timers": timers, "kernel": kernel, "limits": limits,
        "firewall": firewall,
    ]

    /// The closest known sibling of an unknown key path (edit distance at most 2), as a full path:
    /// `overlay.mtuu` → `overlay.mtu`.
    static func suggestion(forUnknownKey path: String) -> String? {
        let parent: Substring
        let leaf: Substring
        if let dot = path.lastIndex(of: ".") {
            parent = path[..<dot]
            leaf = path[path.index(after: dot)...]
        } else {
            parent = ""
            leaf = path[...]
        }
        guard let allowed = sections[normalized(parent)] else { return nil }
        let ranked = allowed.map { (key: $0, distance: editDistance(Array(leaf.utf8), Array($0.utf8))) }
            .filter { $0.distance <= 2 }
            .sorted { ($0.distance, $0.key) < ($1.distance, $1.key) }
        guard let best = ranked.first else { return nil }
        return parent.isEmpty ? best.key : "\(parent).\(best.key)"
    }

    /// `peers[3]` → `peers[]`.
    private static func normalized(_ parent: Substring) -> String {
        var result = ""
        var inIndex = false
        for character in parent {
            if character == "[" {
                inIndex = true
                result.append("[")
            } else if character == "]" {
                inIndex = false
                result.append("]")
            } else if !inIndex {
                result.append(character)
            }
        }
        return result
    }

    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
