import CryptoPrimitives
import GatewayConfig
import NetworkTypes
import Routing

// MARK: - Operators' requests and reloads

extension GatewayController {
    mutating func perform(
        _ request: Request, now: Timestamp, roleChanges: inout [PrimaryElection.RoleChange], out: inout Output
    ) -> RequestResult {
        switch request {
        case .stepDown:
            guard var election else { return .refused("this gateway is in no HA group") }
            defer { self.election = election }
            switch election.stepDown(now: now) {
            case .steppedDown(let change):
                out.log(.notice, "stepping down (\(change.reason))")
                roleChanges.append(change)
                return .done
            case .notPrimary: return .refused("this gateway is not the primary")
            case .noEligibleStandby: return .refused("no other live member with a healthy LAN could take over")
            }
        case .askToStepDown(let member):
            guard let peer = config.peer(named: member), member != config.node.name else {
                return .refused("\(member) is not a peer")
            }
            out.datagrams.append(
                Datagram(
                    channel: .probePort, bytes: ProbeMessage.stepDownMagic,
                    peer: Endpoint(address: peer.overlayAddress, port: GatewayController.probePort)))
            return .done
        case .suspendAdvertisement(let prefix):
            guard advertisedNow.contains(prefix) else { return .refused("\(prefix) is not advertised now") }
            advertisedNow.removeAll { $0 == prefix }
            sendAdvert(now: now, out: &out)
            return .done
        case .resumeAdvertisement(let prefix):
            guard config.advertise.contains(prefix) else { return .refused("\(prefix) is not configured") }
            if !advertisedNow.contains(prefix) { advertisedNow.append(prefix) }
            sendAdvert(now: now, out: &out)
            return .done
        case .beginKeyRotation(let key, let live):
            guard keyRotation == nil else { return .refused("a key rotation is already running") }
            keyRotation = KeyRotation(
                newPublicKey: key, livePeers: live, startedAt: now, nextAnnouncementAt: now, isSettled: false)
            return .done
        case .completeKeyRotation:
            guard let rotation = keyRotation else { return .refused("no key rotation is running") }
            keyRotation = nil
            publicKey = rotation.newPublicKey
            lastKeyChangeAt = now
            out.log(
                .notice,
                "private key rotated; new public key \(rotation.newPublicKey.base64) (update the shared peer list)")
            out.audit(
                "key_rotated",
                [
                    "peer": .string(config.node.name), "public_key": .string(rotation.newPublicKey.base64),
                    "acknowledged_by": .string(rotation.acknowledged.sorted().joined(separator: ",")),
                ])
            return .done
        case .abandonKeyRotation:
            keyRotation = nil
            return .done
        case .withdrawFromMesh:
            broadcast(.withdraw(.init(sender: config.node.name, sequence: messageCounter.next())), out: &out)
            advertisedNow = []
            return .done
        }
    }

    /// Applies a new configuration by difference: peers added, removed or changed, advertised subnets, HA
    /// priority and preemption, timers, limits, the kernel route table and metric. A change that needs a
    /// restart (node, overlay, control socket, HA group or LAN) is refused and nothing changes.
    mutating func reload(_ new: GatewayConfiguration, connectedLAN lan: [IPPrefix], now: Timestamp, out: inout Output)
        -> RequestResult
    {
        let old = config
        let changes = diff(from: old, to: new)
        if changes.isEmpty { return .unchanged }
        var restartNeeded = changes.requiresRestart
        if let a = old.ha, let b = new.ha, a.group != b.group || a.lan != b.lan { restartNeeded = true }
        if (old.ha == nil) != (new.ha == nil) { restartNeeded = true }
        if restartNeeded {
            let reason = "these changes need a restart: \(changes.description)"
            out.log(.error, "reload refused: \(reason)")
            out.audit("config_rejected", ["reason": .string(reason)])
            return .refused("reload refused, running configuration unchanged: \(reason)")
        }
        let oldPeers = Dictionary(old.peers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in changes.peersRemoved {
            peerKeys.removeValue(forKey: name)
            peerPolicyDigests.removeValue(forKey: name)
            keyExpiryEnforced.remove(name)
            keyExpiryWarnedAt.removeValue(forKey: name)
            if peersUp.remove(name) != nil {
                out.audit("peer_left", ["peer": .string(name), "reason": .string("removed from the configuration")])
            }
            probes.forget(name)
            for change in routeTable.withdraw(gateway: name) { noteRouteChange(change, out: &out) }
        }
        for peer in new.peers where peer.name != new.node.name {
            let previous = oldPeers[peer.name]
            // A changed public key is a new identity for that name — unless the peer already runs under it
            // (the list caught up with a rotate-key).
            if previous?.publicKey != peer.publicKey { peerKeys[peer.name] = peer.publicKey }
            if previous?.publicKey != peer.publicKey || previous?.keyExpires != peer.keyExpires {
                keyExpiryEnforced.remove(peer.name)
                keyExpiryWarnedAt.removeValue(forKey: peer.name)
            }
        }
        if var election, let ha = new.ha {
            election.configuration.priority = ha.priority
            election.configuration.preempt = ha.preempt
            election.configuration.preemptDelay = ha.preemptDelay
            election.configuration.stepDownHold = ha.stepDownHold
            election.configuration.deadInterval = new.timers.deadInterval
            election.configuration.helloInterval = new.timers.helloInterval
            election.configuration.members = new.members(of: ha.group)
            self.election = election
        }
        config = new
        connectedLAN = lan
        routeTable.expiry = new.timers.routeExpiry
        routeTable.policy = GatewayController.routePolicy(for: new, connectedLAN: lan)
        unapprovedRoutes = [:]
        // A withdrawal drill in progress keeps its subnet back; everything else follows the file.
        advertisedNow = new.advertise
        nextHelloAt = min(nextHelloAt, now + new.timers.helloInterval)
        pendingTriggeredAdvert = true
        // Next hops through removed peers go at once; everything else stays while it is recomputed, so a
        // reload never takes a working route away, even for a moment.
        let removed = Set(changes.peersRemoved)
        nextHops = nextHops.filter { !removed.contains($0.value) && !new.advertise.contains($0.key) }
        recomputeRoutes(now: now, out: &out)
        out.log(.notice, "configuration reloaded: \(changes.description)")
        out.audit("config_reloaded", ["diff": .string(changes.description)])
        return .reloaded(changes.description)
    }
}
