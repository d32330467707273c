import Foundation

/// Read-only views of `/proc`, for leak checks and for finding daemons that daemonized themselves.
public enum ProcessTable {
    /// One running process.
    public struct Entry: Sendable, CustomStringConvertible {
        public let pid: Int32
        /// The command line, arguments joined by spaces.
        public let commandLine: String
        public var description: String { "pid \(pid) `\(commandLine)`" }
    }

    /// Every process whose command line contains `text`, excluding this test process.
    public static func processes(commandLineContaining text: String) -> [Entry] {
        let ownPID = getpid()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> Entry? in
            guard let pid = Int32(name), pid != ownPID, let line = commandLine(of: pid), line.contains(text)
            else { return nil }
            if isZombie(pid) { return nil }
            return Entry(pid: pid, commandLine: line)
        }
    }

    /// The command line of `pid`, or nil if it is gone or a kernel thread.
    public static func commandLine(of pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else {
            return nil
        }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// True for a process that has exited but not been reaped yet.
    public static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// How many file descriptors `pid` has open (entries of `/proc/<pid>/fd`), nil if it is gone.
    public static func descriptorCount(of pid: Int32) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// Waits up to `timeout` for `pid` to have `expected` descriptors open (a server closes a finished
    /// connection a moment after its client has gone) and returns the last count seen.
    public static func waitForDescriptorCount(
        of pid: Int32, toBe expected: Int, timeout: Duration = .seconds(2)
    ) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        var count = descriptorCount(of: pid)
        while count != expected, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            count = descriptorCount(of: pid)
        }
        return count
    }

    /// The descriptor count of `pid` once it has stayed the same for `quiet` (at most `timeout`), for a
    /// baseline that a connection still being closed does not skew.
    public static func settledDescriptorCount(
        of pid: Int32, quiet: Duration = .milliseconds(200), timeout: Duration = .seconds(3)
    ) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        var count = descriptorCount(of: pid)
        var stableSince = ContinuousClock.now
        while ContinuousClock.now < deadline, ContinuousClock.now - stableSince < quiet {
            try? await Task.sleep(for: .milliseconds(20))
            let next = descriptorCount(of: pid)
            if next != count {
                count = next
                stableSince = ContinuousClock.now
            }
        }
        return count
    }

    /// True when `pid` names a live (non-zombie) process.
    public static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 && !isZombie(pid)
    }
}
