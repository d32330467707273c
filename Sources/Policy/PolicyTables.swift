/// A policy as the lookup tables the kernel evaluates, so that the cost per packet does not grow with the
/// number of rules or addresses.
///
/// Each dimension of a flow — source address, destination address, service (protocol and port) — is cut
/// into classes: two values are in the same class when exactly the same rules match them. A packet's
/// class in each dimension is one interval-map lookup; the triple of classes is then one hash lookup in
/// ``allowed``, which names the first rule that accepts it (its counter). A triple that is absent is denied.
public struct PolicyTables: Sendable, Hashable {
    /// A run of addresses or ports that all fall in one class.
    public struct Interval: Sendable, Hashable {
        public var range: ClosedRange<UInt128>
        public var classID: UInt32
    }

    public struct Triple: Sendable, Hashable {
        public var source: UInt32
        public var destination: UInt32
        public var service: UInt32

        public init(source: UInt32, destination: UInt32, service: UInt32) {
            self.source = source
            self.destination = destination
            self.service = service
        }
    }

    /// Source address classes per family, sorted and disjoint; addresses in no interval match no rule.
    public var sourceIntervals: [AddressFamily: [Interval]] = [:]
    public var destinationIntervals: [AddressFamily: [Interval]] = [:]
    /// Destination-port classes for each protocol with ports.
    public var portIntervals: [UInt8: [Interval]] = [:]
    /// The class of each protocol without ports.
    public var protocolClasses: [UInt8: UInt32] = [:]
    /// Allowed class triples, each with the index in ``ruleNames`` of the rule that accepts it first.
    public var allowed: [Triple: Int] = [:]
    public var ruleNames: [String] = []

    /// The most allowed triples compiled: a policy beyond it is refused rather than loaded slowly.
    public static let maximumTriples = 2_000_000

    /// - Throws: ``PolicyError`` when the policy would need more than ``maximumTriples`` entries.
    public static func compile(_ policy: Policy, maximumTriples: Int = PolicyTables.maximumTriples)
        throws(PolicyError) -> PolicyTables
    {
        var tables = PolicyTables()
        tables.ruleNames = policy.ruleNames
        let nameIndex = Dictionary(tables.ruleNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let rules = policy.rules

        var sourceClasses = ClassNumbering()
        var destinationClasses = ClassNumbering()
        for family in AddressFamily.allCases {
            tables.sourceIntervals[family] = sweep(
                rules.map { $0.sources.ranges(family) }, numbering: &sourceClasses)
            tables.destinationIntervals[family] = sweep(
                rules.map { $0.destinations.ranges(family) }, numbering: &destinationClasses)
        }
        var serviceClasses = ClassNumbering()
        for number in 0...UInt8.max {
            if Policy.portProtocols.contains(number) {
                let ranges = rules.map { rule in
                    rule.services.compactMap { service -> ClosedRange<UInt128>? in
                        guard service.protocolNumber == nil || service.protocolNumber == number else { return nil }
                        let ports = service.protocolNumber == nil ? 0...UInt16.max : service.ports
                        return UInt128(ports.lowerBound)...UInt128(ports.upperBound)
                    }
                }
                let intervals = sweep(ranges.map(Self.normalized), numbering: &serviceClasses)
                if !intervals.isEmpty { tables.portIntervals[number] = intervals }
            } else {
                let matching = rules.indices.filter { index in
                    rules[index].services.contains { $0.protocolNumber == nil || $0.protocolNumber == number }
                }
                if !matching.isEmpty { tables.protocolClasses[number] = serviceClasses.id(for: matching) }
            }
        }

        // Every class triple each rule covers, the first rule winning.
        let sourcesOf = sourceClasses.classesByRule(count: rules.count)
        let destinationsOf = destinationClasses.classesByRule(count: rules.count)
        let servicesOf = serviceClasses.classesByRule(count: rules.count)
        for (index, rule) in rules.enumerated() {
            let name = nameIndex[rule.name]!
            let size = sourcesOf[index].count * destinationsOf[index].count * servicesOf[index].count
            guard tables.allowed.count + size <= maximumTriples else {
                throw PolicyError(
                    rule.position,
                    "\(rule.name): the policy needs more than \(maximumTriples) source × destination × service combinations; use fewer overlapping sets"
                )
            }
            for source in sourcesOf[index] {
                for destination in destinationsOf[index] {
                    for service in servicesOf[index] {
                        let triple = Triple(source: source, destination: destination, service: service)
                        if tables.allowed[triple] == nil { tables.allowed[triple] = name }
                    }
                }
            }
        }
        return tables
    }

    /// Sorted, merged ranges (a rule's services may overlap one another).
    static func normalized(_ ranges: [ClosedRange<UInt128>]) -> [ClosedRange<UInt128>] {
        var merged: [ClosedRange<UInt128>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, last.upperBound == .max || range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// Cuts a number line into classes: `rangesByRule[r]` are the (disjoint) values rule `r` matches.
    /// A sweep over the range boundaries; runs of equal rule sets are joined.
    static func sweep(_ rangesByRule: [[ClosedRange<UInt128>]], numbering: inout ClassNumbering) -> [Interval] {
        // (position, rule, starts): a range opens at its lower bound and closes after its upper bound.
        var events: [(position: UInt128, rule: Int, opens: Bool, atEnd: Bool)] = []
        for (rule, ranges) in rangesByRule.enumerated() {
            for range in ranges {
                events.append((range.lowerBound, rule, true, false))
                if range.upperBound == .max {
                    events.append((.max, rule, false, true))
                } else {
                    events.append((range.upperBound + 1, rule, false, false))
                }
            }
        }
        // Closing events at the very end of the line sort after everything.
        events.sort { ($0.atEnd ? 1 : 0, $0.position) < ($1.atEnd ? 1 : 0, $1.position) }
        var active = Set<Int>()
        var intervals: [Interval] = []
        var index = 0
        while index < events.count {
            let position = events[index].position
            let atEnd = events[index].atEnd
            while index < events.count, events[index].position == position, events[index].atEnd == atEnd {
                if events[index].opens { active.insert(events[index].rule) } else { active.remove(events[index].rule) }
                index += 1
            }
            if atEnd { break }
            guard !active.isEmpty else { continue }
            let end: UInt128 =
                index < events.count ? (events[index].atEnd ? .max : events[index].position - 1) : .max
            let id = numbering.id(for: active.sorted())
            if let last = intervals.last, last.classID == id, last.range.upperBound + 1 == position {
                intervals[intervals.count - 1].range = last.range.lowerBound...end
            } else {
                intervals.append(Interval(range: position...end, classID: id))
            }
        }
        return intervals
    }
}

/// Numbers the distinct rule sets of one dimension from 1.
struct ClassNumbering {
    private(set) var ids: [[Int]: UInt32] = [:]

    mutating func id(for rules: [Int]) -> UInt32 {
        if let id = ids[rules] { return id }
        let id = UInt32(ids.count + 1)
        ids[rules] = id
        return id
    }

    /// For each rule, the classes that contain it.
    func classesByRule(count: Int) -> [[UInt32]] {
        var result = [[UInt32]](repeating: [], count: count)
        for (rules, id) in ids {
            for rule in rules { result[rule].append(id) }
        }
        return result
    }
}

// MARK: - Kernel elements

extension PolicyTables {
    /// One element of the kernel's concatenated interval maps: source range . destination range . protocol
    /// range [. port range] → the counter of `ruleNames[rule]`. Built from disjoint classes, elements
    /// never overlap.
    public struct KernelElement: Sendable, Hashable {
        public var family: AddressFamily
        public var source: ClosedRange<UInt128>
        public var destination: ClosedRange<UInt128>
        public var protocols: ClosedRange<UInt8>
        /// Destination ports, for TCP, UDP and SCTP; nil for the other protocols.
        public var ports: ClosedRange<UInt16>?
        public var rule: Int
    }

    /// The most kernel elements a policy may need; beyond it the policy is refused with a message, rather
    /// than loaded slowly.
    public static let maximumKernelElements = 1_000_000

    /// A service class's pieces: (protocols, ports) runs.
    func servicePieces() -> [UInt32: [(protocols: ClosedRange<UInt8>, ports: ClosedRange<UInt16>?)]] {
        var pieces: [UInt32: [(protocols: ClosedRange<UInt8>, ports: ClosedRange<UInt16>?)]] = [:]
        for (number, intervals) in portIntervals {
            for interval in intervals {
                let ports = UInt16(interval.range.lowerBound)...UInt16(interval.range.upperBound)
                pieces[interval.classID, default: []].append((number...number, ports))
            }
        }
        var protocolsByClass: [UInt32: [UInt8]] = [:]
        for (number, classID) in protocolClasses { protocolsByClass[classID, default: []].append(number) }
        for (classID, numbers) in protocolsByClass {
            var run: ClosedRange<UInt8>?
            for number in numbers.sorted() {
                if let current = run, current.upperBound &+ 1 == number, current.upperBound < .max {
                    run = current.lowerBound...number
                } else {
                    if let current = run { pieces[classID, default: []].append((current, nil)) }
                    run = number...number
                }
            }
            if let current = run { pieces[classID, default: []].append((current, nil)) }
        }
        return pieces
    }

    func intervalsByClass(_ intervals: [AddressFamily: [Interval]]) -> [AddressFamily: [UInt32: [ClosedRange<UInt128>]]]
    {
        var result: [AddressFamily: [UInt32: [ClosedRange<UInt128>]]] = [:]
        for (family, list) in intervals {
            for interval in list { result[family, default: [:]][interval.classID, default: []].append(interval.range) }
        }
        return result
    }

    /// How many elements ``kernelElements()`` returns, without building them.
    public func kernelElementCount() -> Int {
        let sources = intervalsByClass(sourceIntervals)
        let destinations = intervalsByClass(destinationIntervals)
        let pieces = servicePieces()
        var count = 0
        for triple in allowed.keys {
            let services = pieces[triple.service]?.count ?? 0
            for family in AddressFamily.allCases {
                let s = sources[family]?[triple.source]?.count ?? 0
                let d = destinations[family]?[triple.destination]?.count ?? 0
                count += s * d * services
            }
        }
        return count
    }

    /// Every element of the kernel maps, in a stable order (sorted by rule, then by key).
    public func kernelElements() -> [KernelElement] {
        let sources = intervalsByClass(sourceIntervals)
        let destinations = intervalsByClass(destinationIntervals)
        let pieces = servicePieces()
        var elements: [KernelElement] = []
        for (triple, rule) in allowed {
            for family in AddressFamily.allCases {
                guard let sourceRanges = sources[family]?[triple.source],
                    let destinationRanges = destinations[family]?[triple.destination]
                else { continue }
                for source in sourceRanges {
                    for destination in destinationRanges {
                        for piece in pieces[triple.service] ?? [] {
                            elements.append(
                                KernelElement(
                                    family: family, source: source, destination: destination,
                                    protocols: piece.protocols, ports: piece.ports, rule: rule))
                        }
                    }
                }
            }
        }
        return elements
    }
}
