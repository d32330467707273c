/// One metric family: the name, help text, type and label names that every series of it shares.
/// The values live in ``MetricCatalog``; this type only describes them. Immutable and `Sendable`.
public struct MetricDefinition: Sendable, Hashable, CustomStringConvertible {
    /// The Prometheus metric type, with the bucket upper bounds for histograms.
    public enum Kind: Sendable, Hashable {
        /// Only goes up; resets only when meshgated restarts.
        case counter
        /// Any value that can go up and down, including 0/1 states and Unix timestamps.
        case gauge
        /// Observations counted into buckets; the bounds are in the metric's base unit, ascending, and
        /// exclude `+Inf` (always added).
        case histogram(buckets: [Double])

        /// The word on the `# TYPE` line.
        public var typeName: String {
            switch self {
            case .counter: "counter"
            case .gauge: "gauge"
            case .histogram: "histogram"
            }
        }
    }

    /// The full metric name, for example `meshgate_peer_up`.
    public let name: String
    /// The `# HELP` text: one line, no trailing newline.
    public let help: String
    /// The metric type.
    public let kind: Kind
    /// The label names every series carries, in the order setters pass their values.
    public let labelNames: [String]

    public var description: String {
        labelNames.isEmpty ? name : "\(name){\(labelNames.joined(separator: ","))}"
    }
}
