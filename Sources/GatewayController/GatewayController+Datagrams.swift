import CryptoPrimitives
import GatewayConfig
import NetworkTypes
import Routing

// MARK: - Datagrams from peers

extension GatewayController {
    /// Handles one datagram; returns a role change it caused.
    mutating func receive(_ datagram: Datagram, now: Timestamp, out: inout Output) -> PrimaryElection.RoleChange? {
        switch datagram.channel {
        case .control:
            let bytes = datagram.bytes
            if bytes.starts(with: KeyRotation.announceMagic) || bytes.starts(with: KeyRotation.acknowledgeMagic) {
                receiveKeyRotation(bytes, from: datagram.peer, out: &out)
                return nil
            }
            return receiveRouteProtocol(bytes, from: datagram.peer, now: now, out: &out)
        case .probePort:
            return receiveOnProbePort(datagram, now: now, out: &out)
        case .overlayProbe:
            if let sequence = ProbeMessage.sequence(of: datagram.bytes) { probes.answer(sequence: sequence, now: now) }
            return nil
        case .lanHello:
            return receiveLANHello(datagram, now: now, out: &out)
        }
    }

    /// A hello that came over the LAN (its frame verified by the driver): only hellos, only from a member
    /// of our own group. Routes and everything else travel the overlay alone.
    private mutating func receiveLANHello(
        _ datagram: Datagram, now: Timestamp, out: inout Output
    ) -> PrimaryElection.RoleChange? {
        guard var election, let ha = config.ha,
            let sender = otherPeers.first(where: { $0.overlayAddress == datagram.peer.address }),
            config.peerGroups[sender.name] == ha.group,
            case .success(.hello(let hello)) = Advertisement.decode(datagram.bytes), hello.sender == sender.name
        else {
            routeMessageDrops["lan_hello_refused", default: 0] += 1
            return nil
        }
        // Nothing on the LAN stops a replay of a recorded frame, and the election takes an old sequence
        // again once the sender counts as dead: only a hello newer than any heard from it, on either path.
        guard hello.sequence > (helloSequences[sender.name] ?? 0) else { return nil }
        helloSequences[sender.name] = hello.sequence
        defer { self.election = election }
        return election.receivedHello(hello, now: now)
    }

    private mutating func receiveRouteProtocol(
        _ bytes: [UInt8], from source: Endpoint, now: Timestamp, out: inout Output
    ) -> PrimaryElection.RoleChange? {
        let message: Advertisement
        switch Advertisement.decode(bytes) {
        case .success(let m): message = m
        case .failure(let error):
            routeMessageDrops[error.label, default: 0] += 1
            out.log(.debug, "control message from \(source) dropped: \(error)")
            return nil
        }
        guard message.isSent(from: source.address, overlayAddresses: config.peerOverlayAddresses),
            message.sender != config.node.name
        else {
            routeMessageDrops["sender_mismatch", default: 0] += 1
            out.log(.warning, "control message claiming to be from \(message.sender) arrived from \(source); dropped")
            return nil
        }
        if case .relayed(let relayed) = message {
            guard acceptsRelayed(from: relayed.sender, origin: relayed.origin, now: now) else {
                routeMessageDrops["relayed_refused", default: 0] += 1
                return nil
            }
            return handleRouteMessage(relayed.message, relayed: true, now: now, out: &out)
        }
        let change = handleRouteMessage(message, relayed: false, now: now, out: &out)
        passOn(message, from: message.sender, now: now, out: &out)
        return change
    }

    /// A message accepted from its sender (directly, or passed on by the relay we route it through).
    private mutating func handleRouteMessage(
        _ message: Advertisement, relayed: Bool, now: Timestamp, out: inout Output
    ) -> PrimaryElection.RoleChange? {
        // A gateway we hold no routes from (new, or restarted) gets our routes now rather than at the next
        // periodic advert, so a restarted standby is never blind when the primary fails.
        if case .withdraw = message {
        } else if case .links = message {
        } else if case .relayed = message {
        } else if case .policy = message {
        } else if case .probeTargets = message {
        } else if routeTable.entries[message.sender].map({ $0.expiresAt <= now }) ?? true {
            pendingTriggeredAdvert = true
        }
        switch message {
        case .hello(let hello):
            guard var election, hello.group == election.configuration.group else { return nil }
            helloSequences[hello.sender] = max(helloSequences[hello.sender] ?? 0, hello.sequence)
            defer { self.election = election }
            return election.receivedHello(hello, now: now)
        case .policy(let policy):
            peerPolicyDigests[policy.sender] = policy.digest.isEmpty ? "none" : SHA256.hex(policy.digest)
            return nil
        case .probeTargets(let message):
            // Used only for prefixes the sender advertises (``pathProbeTargets``); bounded like its routes.
            guard message.targets.count <= config.limits.maxRoutesPerPeer else {
                routeMessageDrops["too_many_probe_targets", default: 0] += 1
                return nil
            }
            // A handful per peer is what probing needs; more would only cost us a probe each per second.
            peerProbeTargets[message.sender] = Dictionary(
                uniqueKeysWithValues: message.targets.sorted { $0.key < $1.key }
                    .prefix(GatewayController.probeTargetsPerPeer).map { ($0.key, $0.value) })
            return nil
        case .routes, .withdraw:
            if case .withdraw = message {
                peerPolicyDigests.removeValue(forKey: message.sender)
                peerProbeTargets.removeValue(forKey: message.sender)
            }
            for change in routeTable.apply(message, from: message.sender, now: now) {
                noteRouteChange(change, out: &out)
            }
            return nil
        case .links(let links):
            receiveLinks(links, relayed: relayed, now: now, out: &out)
            return nil
        case .relayed:
            return nil
        }
    }

    /// Probes are answered; step-down requests from a member of our group are obeyed.
    private mutating func receiveOnProbePort(
        _ datagram: Datagram, now: Timestamp, out: inout Output
    ) -> PrimaryElection.RoleChange? {
        let bytes = datagram.bytes
        if bytes.starts(with: ProbeMessage.magic) {
            // Answer to the reply-to address inside the probe (a LAN or overlay address of the prober):
            // the answer is routed like LAN-to-LAN traffic, through the prober's group primary. Only to
            // addresses of the mesh: the responder is no reflector.
            if let replyTo = ProbeMessage.replyAddress(in: bytes), isMeshAddress(replyTo.address) {
                out.datagrams.append(Datagram(channel: .probePort, bytes: bytes, peer: replyTo))
            }
            return nil
        }
        if bytes.starts(with: BurstMessage.requestMagic) || bytes.starts(with: BurstMessage.stopMagic) {
            // From a peer's overlay address only: the driver runs one burst at a time, from our LAN side.
            guard let asker = otherPeers.first(where: { $0.overlayAddress == datagram.peer.address }) else {
                return nil
            }
            if let request = BurstMessage.parseRequest(bytes, from: datagram.peer) {
                // Only at a host behind the asker's own group (a drill of its failover), never elsewhere: a
                // peer cannot make this gateway probe our LAN, the internet or a third region.
                guard burstTargetAllowed(request.target, askedBy: asker.name, now: now) else {
                    routeMessageDrops["burst_refused", default: 0] += 1
                    out.bursts.append(request.refused)
                    return nil
                }
                out.bursts.append(request)
            } else if let id = BurstMessage.parseStop(bytes) {
                out.burstStops.append((id, datagram.peer))
            }
            return nil
        }
        if let (id, flow) = ExplainMessage.parseQuery(bytes) {
            // From a peer's overlay address only (the socket is bound to the overlay), at a bounded rate.
            guard let asker = otherPeers.first(where: { $0.overlayAddress == datagram.peer.address }) else {
                return nil
            }
            // A budget per peer, so one cannot starve the others' explains.
            let second = now.duration(since: .zero).components.seconds
            var budget = explainBudgets[asker.name] ?? (second, 0)
            if budget.second != second { budget = (second, 0) }
            guard budget.count < GatewayController.explainAnswersPerSecond else {
                routeMessageDrops["explain_rate_limited", default: 0] += 1
                return nil
            }
            budget.count += 1
            explainBudgets[asker.name] = budget
            // Only flows from the asker's region (or the asker itself): no reconnaissance of the rest.
            let group = config.peerGroups[asker.name]
            let fromAsker =
                flow.source == asker.overlayAddress
                || routeTable.entries.values.contains { entry in
                    (entry.gateway == asker.name || (group != nil && config.peerGroups[entry.gateway] == group))
                        && entry.routes.contains { $0.prefix.contains(flow.source) }
                }
            guard fromAsker else {
                routeMessageDrops["explain_refused", default: 0] += 1
                return nil
            }
            out.datagrams.append(
                Datagram(
                    channel: .probePort, bytes: ExplainMessage.answer(id: id, hops: explainEgress(flow, now: now)),
                    peer: datagram.peer))
            return nil
        }
        guard bytes.starts(with: ProbeMessage.stepDownMagic), var election,
            let sender = otherPeers.first(where: { $0.overlayAddress == datagram.peer.address }),
            election.members(now: now).contains(where: { $0.name == sender.name })
        else { return nil }
        // The socket is bound to the overlay: WireGuard authenticated the sender's overlay address.
        defer { self.election = election }
        guard case .steppedDown(let change) = election.stepDown(now: now) else { return nil }
        out.log(.notice, "stepping down on request of \(sender.name) (drill)")
        return change
    }

    /// Whether `target` lies in a subnet that `asker`, or a member of its HA group, advertises to us and
    /// that we route to that group.
    func burstTargetAllowed(_ target: IPAddress, askedBy asker: String, now: Timestamp) -> Bool {
        let group = config.peerGroups[asker]
        return nextHops.contains { prefix, via in
            prefix.contains(target) && (via == asker || (group != nil && config.peerGroups[via] == group))
        }
    }

    /// Overlay addresses and subnets the mesh routes.
    func isMeshAddress(_ address: IPAddress) -> Bool {
        config.peers.contains { $0.overlayAddress == address }
            || nextHops.keys.contains { $0.contains(address) } || routeTable.prefixes.contains { $0.contains(address) }
    }

    /// A peer's key announcement or acknowledgement.
    private mutating func receiveKeyRotation(_ bytes: [UInt8], from source: Endpoint, out: inout Output) {
        guard bytes.count == 8 + 32, let key = Key32(bytes: bytes[8...]),
            let peer = otherPeers.first(where: { $0.overlayAddress == source.address })
        else { return }
        if bytes.starts(with: KeyRotation.acknowledgeMagic) {
            if var rotation = keyRotation, rotation.newPublicKey == key {
                rotation.acknowledged.insert(peer.name)
                keyRotation = rotation
            }
            return
        }
        guard !keyExpiryEnforced.contains(peer.name) else { return }
        if let old = peerKeys[peer.name], old != key {
            peerKeys[peer.name] = key
            out.peerKeyRotations.append((peer.name, old, key))
            out.log(
                .notice,
                "\(peer.name) rotated its key: now \(key.base64) (update public_key of \(peer.name) in the shared peer list)"
            )
            out.audit("key_rotated", ["peer": .string(peer.name), "public_key": .string(key.base64)])
        }
        if peerKeys[peer.name] == key {
            out.datagrams.append(
                Datagram(
                    channel: .control, bytes: KeyRotation.acknowledgeMagic + key.bytes,
                    peer: Endpoint(address: peer.overlayAddress, port: GatewayController.controlPort)))
        }
    }
}
