import CryptoPrimitives
import NetworkTypes

extension UAPICodec {
    /// Parses and validates the body of a `set=1` request: the lines after `set=1`, without their `\n`,
    /// up to but not including the blank line that ends the request.
    ///
    /// Lines before the first `public_key` configure the interface; each `public_key` starts a peer
    /// section. Keys and values are compared byte for byte. Rejected, with wireguard-go's error class:
    /// a line without `=` (EPROTO); an unknown key, a device key after a `public_key`, a peer key before
    /// any `public_key`, a key that is not 64 hex digits, a number that is not plain decimal digits or
    /// is out of range, a flag other than `true`, a bad endpoint or allowed IP, and a `protocol_version`
    /// other than `1` (all EINVAL). A blank line in `lines` has no `=` and is rejected too.
    ///
    /// Repeated keys are not errors, as in wireguard-go: the last value wins.
    public static func parseSet(_ lines: [Substring]) -> Result<UAPIConfigurationChange, UAPIError> {
        do throws(UAPIError) {
            return .success(try collectChange(from: lines))
        } catch {
            return .failure(error)
        }
    }

    /// The keys a `set=1` request may use (wireguard-go `handleDeviceLine` and `handlePeerLine`).
    enum SetKey: String, CaseIterable {
        // Device section.
        case privateKey = "private_key"
        case listenPort = "listen_port"
        case firewallMark = "fwmark"
        case replacePeers = "replace_peers"
        // Starts a peer section.
        case publicKey = "public_key"
        // Peer section.
        case remove = "remove"
        case updateOnly = "update_only"
        case presharedKey = "preshared_key"
        case endpoint = "endpoint"
        case persistentKeepaliveInterval = "persistent_keepalive_interval"
        case replaceAllowedIPs = "replace_allowed_ips"
        case allowedIP = "allowed_ip"
        case protocolVersion = "protocol_version"

        /// Finds the key whose name is exactly these bytes.
        init?(_ name: some Collection<UInt8>) {
            guard let match = SetKey.allCases.first(where: { $0.rawValue.utf8.elementsEqual(name) }) else {
                return nil
            }
            self = match
        }
    }

    private static func collectChange(from lines: [Substring]) throws(UAPIError) -> UAPIConfigurationChange {
        var change = UAPIConfigurationChange()
        var section: PeerSection?
        for line in lines {
            let bytes = line.utf8
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else {
                throw .malformedLine(UAPIError.evidence(bytes))
            }
            let name = bytes[..<equals]
            let value = bytes[bytes.index(after: equals)...]
            guard let key = SetKey(name) else {
                let evidence = UAPIError.evidence(name)
                throw section == nil ? .unknownDeviceKey(evidence) : .unknownPeerKey(evidence)
            }
            if key == .publicKey {
                if let finished = section { change.peers.append(finished.finish()) }
                section = PeerSection(publicKey: try parseHexKey(value, for: key))
            } else if var current = section {
                section = nil  // Keep `current` uniquely referenced while it grows.
                try applyPeerLine(key, value, to: &current)
                section = current
            } else {
                try applyDeviceLine(key, value, to: &change)
            }
        }
        if let finished = section { change.peers.append(finished.finish()) }
        return change
    }

    /// A peer section being parsed: the change so far, and the last action per canonical allowed-IP
    /// prefix, so that contradicting lines cancel in linear time.
    private struct PeerSection {
        var peer: UAPIConfigurationChange.PeerChange
        /// Canonical prefix → whether its last `allowed_ip` line added (true) or removed (false) it.
        var lastAllowedIPAction: [IPPrefix: Bool] = [:]
        /// Whether some prefix was both added and removed, so ``finish()`` must filter.
        var hasContradiction = false

        init(publicKey: Key32) {
            peer = UAPIConfigurationChange.PeerChange(publicKey: publicKey)
        }

        /// The section's change, keeping for each prefix only the lines that agree with its last one.
        func finish() -> UAPIConfigurationChange.PeerChange {
            guard hasContradiction else { return peer }
            var result = peer
            result.allowedIPs.removeAll { lastAllowedIPAction[$0.canonical] != true }
            result.removedAllowedIPs.removeAll { lastAllowedIPAction[$0.canonical] != false }
            return result
        }
    }

    private static func applyDeviceLine(
        _ key: SetKey,
        _ value: Substring.UTF8View,
        to change: inout UAPIConfigurationChange
    ) throws(UAPIError) {
        switch key {
        case .privateKey:
            change.privateKey = try parseHexKey(value, for: key)
        case .listenPort:
            change.listenPort = UInt16(try parseDecimal(value, for: key, maximum: UInt64(UInt16.max)))
        case .firewallMark:
            change.firewallMark = UInt32(try parseDecimal(value, for: key, maximum: UInt64(UInt32.max)))
        case .replacePeers:
            try requireTrue(value, for: key)
            change.replacePeers = true
        case .publicKey, .remove, .updateOnly, .presharedKey, .endpoint, .persistentKeepaliveInterval,
            .replaceAllowedIPs, .allowedIP, .protocolVersion:
            throw .peerKeyWithoutPublicKey(key.rawValue)
        }
    }

    private static func applyPeerLine(
        _ key: SetKey,
        _ value: Substring.UTF8View,
        to section: inout PeerSection
    ) throws(UAPIError) {
        switch key {
        case .remove:
            try requireTrue(value, for: key)
            section.peer.remove = true
        case .updateOnly:
            try requireTrue(value, for: key)
            section.peer.updateOnly = true
        case .presharedKey:
            section.peer.presharedKey = try parseHexKey(value, for: key)
        case .endpoint:
            guard let endpoint = Endpoint(String(decoding: value, as: UTF8.self)) else {
                throw .invalidEndpoint(UAPIError.evidence(value))
            }
            section.peer.endpoint = endpoint
        case .persistentKeepaliveInterval:
            let seconds = try parseDecimal(value, for: key, maximum: UInt64(UInt16.max))
            section.peer.persistentKeepaliveInterval = UInt16(seconds)
        case .replaceAllowedIPs:
            try requireTrue(value, for: key)
            section.peer.replaceAllowedIPs = true
            // wireguard-go would wipe the prefixes this section added or removed so far.
            section.peer.allowedIPs.removeAll()
            section.peer.removedAllowedIPs.removeAll()
            section.lastAllowedIPAction.removeAll()
            section.hasContradiction = false
        case .allowedIP:
            try applyAllowedIP(value, to: &section)
        case .protocolVersion:
            guard value.elementsEqual("1".utf8) else {
                throw .unsupportedProtocolVersion(UAPIError.evidence(value))
            }
        case .privateKey, .listenPort, .firewallMark, .replacePeers:
            throw .deviceKeyAfterPeer(key.rawValue)
        case .publicKey:
            // Handled by the caller, which starts a new section; kept here so the switch stays exhaustive.
            break
        }
    }

    /// `allowed_ip=<address>/<length>` adds, `allowed_ip=-<address>/<length>` removes; a later line
    /// cancels an earlier one for the same canonical prefix (see ``PeerSection/finish()``), so the two
    /// lists end up disjoint.
    private static func applyAllowedIP(_ value: Substring.UTF8View, to section: inout PeerSection) throws(UAPIError) {
        let isRemoval = value.first == UInt8(ascii: "-")
        let text = isRemoval ? value.dropFirst() : value[...]
        // wireguard-go (Go's netip.ParsePrefix) demands the "/length"; IPPrefix would read a bare address
        // as a host prefix.
        guard text.contains(UInt8(ascii: "/")), let prefix = IPPrefix(String(decoding: text, as: UTF8.self)) else {
            throw .invalidAllowedIP(UAPIError.evidence(value))
        }
        let isAddition = !isRemoval
        if let previous = section.lastAllowedIPAction.updateValue(isAddition, forKey: prefix.canonical),
            previous != isAddition
        {
            section.hasContradiction = true
        }
        if isAddition {
            section.peer.allowedIPs.append(prefix)
        } else {
            section.peer.removedAllowedIPs.append(prefix)
        }
    }

    /// Exactly 64 hex digits, either case (wireguard-go `loadExactHex`). The all-zero key is allowed.
    private static func parseHexKey(_ value: Substring.UTF8View, for key: SetKey) throws(UAPIError) -> Key32 {
        guard let parsed = Key32(hex: String(decoding: value, as: UTF8.self)) else {
            throw .invalidHexKey(key: key.rawValue)
        }
        return parsed
    }

    /// One or more ASCII digits with a value up to `maximum`, as Go's `strconv.ParseUint(value, 10, bits)`
    /// accepts them: no sign, no spaces, leading zeros allowed.
    private static func parseDecimal(
        _ value: Substring.UTF8View,
        for key: SetKey,
        maximum: UInt64
    ) throws(UAPIError) -> UInt64 {
        var result: UInt64 = 0
        var sawDigit = false
        for byte in value {
            let digit = byte &- UInt8(ascii: "0")
            guard digit <= 9 else { throw .invalidNumber(key: key.rawValue, value: UAPIError.evidence(value)) }
            // `result` stays at most `maximum` (< 2^32), so this cannot overflow.
            result = result * 10 + UInt64(digit)
            guard result <= maximum else {
                throw .invalidNumber(key: key.rawValue, value: UAPIError.evidence(value))
            }
            sawDigit = true
        }
        guard sawDigit else { throw .invalidNumber(key: key.rawValue, value: "") }
        return result
    }

    /// Flags accept exactly `true`, like wireguard-go.
    private static func requireTrue(_ value: Substring.UTF8View, for key: SetKey) throws(UAPIError) {
        guard value.elementsEqual("true".utf8) else {
            throw .invalidFlag(key: key.rawValue, value: UAPIError.evidence(value))
        }
    }
}
