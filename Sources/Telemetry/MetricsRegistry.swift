internal import Prometheus
import Synchronization

/// The metrics of one meshgated process: the series of the ``MetricCatalog`` families, kept in a
/// swift-prometheus `PrometheusCollectorRegistry` of its own (not the swift-metrics global bootstrap, so
/// tests and embedded gateways each get independent registries), and rendered as Prometheus text.
///
/// The daemon calls the typed setters (``setPeer(name:up:lastHandshake:rxBytes:txBytes:keyExpiry:)``,
/// ``setRoutePrimary(subnet:gateway:)``, ``recordFailover(group:durationSeconds:)``, …) and the metrics
/// HTTP endpoint calls ``render()``. This type reads no clock: timestamps arrive as Unix seconds.
///
/// Counters fed from absolute totals (WireGuard byte counts, engine drop and handshake counts, the
/// nftables MSS-clamp counter) go through ``setTotal(_:labels:total:)``, which advances the exported
/// counter by the growth since the previous total and never moves it backwards.
///
/// Thread-safety: safe for concurrent use; each call takes one lock and no call blocks on I/O. Feed each
/// absolute total from one place (one loop or thread): totals that arrive out of order look like a
/// restart of their source.
public final class MetricsRegistry: Sendable {
    /// An address family as the `family` label of `meshgate_ip_forwarding_enabled` spells it.
    public enum AddressFamily: String, Sendable, Hashable, CaseIterable {
        case ipv4
        case ipv6
    }

    /// One series of a catalogue family: the family's name plus its label values, in catalogue order.
    struct SeriesKey: Hashable {
        var name: String
        var labelValues: [String]
    }

    /// The swift-prometheus handle of one series.
    enum Series {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(ValueHistogram)
    }

    struct State {
        /// Every series created so far, so setters skip the registry's lookup and removal is exact.
        var series: [SeriesKey: Series] = [:]
        /// The last absolute total seen for each counter series fed by ``setTotal(_:labels:total:)``.
        var lastTotals: [SeriesKey: UInt64] = [:]
        /// The `gateway` label values that have a `meshgate_route_primary` series, per `subnet` label.
        var routeGateways: [String: Set<String>] = [:]
        /// The `via` label of each peer's `meshgate_peer_path` series.
        var peerPaths: [String: String] = [:]
    }

    private let collectors = PrometheusCollectorRegistry()
    let state = Mutex(State())

    /// Creates a registry with `meshgate_build_info{version}` at 1 and every unlabelled family at its
    /// zero value (so they render before the first update).
    /// - Parameter version: The meshgated build version, for example `0.4.0` or a git describe string.
    public init(version: String) {
        state.withLock { state in
            setGauge(MetricCatalog.buildInfo, [version], to: 1, in: &state)
            setGauge(MetricCatalog.routesInstalled, [], to: 0, in: &state)
            setGauge(MetricCatalog.routeLastChangeTimestamp, [], to: 0, in: &state)
            _ = series(MetricCatalog.mssClampedPackets, [], in: &state)
            _ = series(MetricCatalog.failoverDuration, [], in: &state)
        }
    }

    /// The current values in the Prometheus text exposition format (version 0.0.4), one `# HELP` and
    /// `# TYPE` line per family that has at least one series. Families come in no particular order.
    public func render() -> String {
        collectors.emitToString()
    }

    // MARK: - Generic access (callers hold the lock)

    /// The series of `metric` with `labelValues`, created on first use.
    func series(_ metric: MetricDefinition, _ labelValues: [String], in state: inout State) -> Series {
        precondition(
            labelValues.count == metric.labelNames.count,
            "\(metric) takes \(metric.labelNames.count) label values, got \(labelValues.count)"
        )
        let key = SeriesKey(name: metric.name, labelValues: labelValues)
        if let existing = state.series[key] { return existing }
        let descriptor = MetricNameDescriptor(metricName: metric.name, unitName: "", helpText: metric.help)
        let labels = Array(zip(metric.labelNames, labelValues))
        let created: Series
        switch metric.kind {
        case .counter:
            created = .counter(collectors.makeCounter(descriptor: descriptor, labels: labels))
        case .gauge:
            created = .gauge(collectors.makeGauge(descriptor: descriptor, labels: labels))
        case .histogram(let buckets):
            created = .histogram(
                collectors.makeValueHistogram(descriptor: descriptor, labels: labels, buckets: buckets))
        }
        state.series[key] = created
        return created
    }

    func setGauge(_ metric: MetricDefinition, _ labelValues: [String], to value: Double, in state: inout State) {
        guard case .gauge(let gauge) = series(metric, labelValues, in: &state) else {
            preconditionFailure("\(metric) is not a gauge")
        }
        gauge.set(to: value)
    }

    /// Advances the counter series to follow the absolute `total` of its source.
    ///
    /// The first total seen is taken whole. After that the counter grows by `total - previous`. A total
    /// below the previous one means the source restarted from zero (a re-created peer, a flushed nftables
    /// counter), so the counter grows by `total`: it never moves backwards.
    func advance(_ metric: MetricDefinition, _ labelValues: [String], toTotal total: UInt64, in state: inout State) {
        guard case .counter(let counter) = series(metric, labelValues, in: &state) else {
            preconditionFailure("\(metric) is not a counter")
        }
        let key = SeriesKey(name: metric.name, labelValues: labelValues)
        let previous = state.lastTotals[key] ?? 0
        let growth = total >= previous ? total - previous : total
        state.lastTotals[key] = total
        if growth > 0 { counter.increment(by: Int64(clamping: growth)) }
    }

    func increment(_ metric: MetricDefinition, _ labelValues: [String], in state: inout State) {
        guard case .counter(let counter) = series(metric, labelValues, in: &state) else {
            preconditionFailure("\(metric) is not a counter")
        }
        counter.increment()
    }

    /// Records a histogram observation; negative, NaN and infinite values are ignored, since one would
    /// poison `_sum` for the life of the process.
    func observe(_ metric: MetricDefinition, _ labelValues: [String], _ value: Double, in state: inout State) {
        guard case .histogram(let histogram) = series(metric, labelValues, in: &state) else {
            preconditionFailure("\(metric) is not a histogram")
        }
        guard value.isFinite, value >= 0 else { return }
        histogram.record(value)
    }

    /// Deletes one series so it no longer renders; a no-op if it does not exist.
    func remove(_ metric: MetricDefinition, _ labelValues: [String], in state: inout State) {
        let key = SeriesKey(name: metric.name, labelValues: labelValues)
        state.lastTotals[key] = nil
        guard let removed = state.series.removeValue(forKey: key) else { return }
        switch removed {
        case .counter(let counter): collectors.unregisterCounter(counter)
        case .gauge(let gauge): collectors.unregisterGauge(gauge)
        case .histogram(let histogram): collectors.unregisterValueHistogram(histogram)
        }
    }
}

extension MetricsRegistry {
    /// Advances a counter fed from an absolute total: the exported counter grows by the difference to
    /// the previous total for the same series and never goes backwards (a smaller total is read as a
    /// source restart and counted from zero). Prefer the typed setters; this is for counters they do
    /// not cover yet.
    /// - Parameters:
    ///   - metric: A counter from ``MetricCatalog``.
    ///   - labels: Its label values, in the order of `metric.labelNames`.
    ///   - total: The source's running total, in the metric's unit.
    public func setTotal(_ metric: MetricDefinition, labels: [String] = [], total: UInt64) {
        precondition(metric.kind == .counter, "\(metric) is not a counter")
        precondition(MetricCatalog.all.contains(metric), "\(metric) is not in the MetricCatalog")
        state.withLock { advance(metric, labels, toTotal: total, in: &$0) }
    }
}
