import Foundation

/// Limits how many labs run at once, so parallel tests do not starve each other of the machine's two
/// cores (a starved tunnel drops packets and makes loss and timing assertions meaningless).
///
/// The capacity is `$MESHGATE_LAB_PARALLELISM`, default 4. Waiters are served first come, first served.
actor LabSlots {
    static let shared = LabSlots(
        capacity: ProcessInfo.processInfo.environment["MESHGATE_LAB_PARALLELISM"].flatMap { Int($0) }.map { max(1, $0) }
            ?? 4)

    let capacity: Int
    private var available: Int
    private var waiters: [(weight: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(capacity: Int) {
        self.capacity = capacity
        self.available = capacity
    }

    /// Waits for `weight` slots (at most the capacity) and returns how many it took.
    func acquire(weight: Int) async -> Int {
        let weight = min(max(1, weight), capacity)
        if waiters.isEmpty && available >= weight {
            available -= weight
            return weight
        }
        await withCheckedContinuation { waiters.append((weight, $0)) }
        return weight
    }

    /// Gives back slots taken by ``acquire(weight:)``.
    func release(_ weight: Int) {
        available += weight
        while let first = waiters.first, available >= first.weight {
            available -= first.weight
            waiters.removeFirst()
            first.continuation.resume()
        }
    }
}
