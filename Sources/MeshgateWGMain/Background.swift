import Glibc

/// Starting ourselves again in the background, as wireguard-go does without `-f`.
enum Background {
    /// Spawns `/proc/self/exe -f INTERFACE` with a pipe on which the child reports readiness; returns
    /// the exit code for the parent: 0 once the child said ready, 1 if it failed or died first.
    static func launch(interfaceName: String, readyVariable: String) -> Int32 {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            printError("meshgate-wg: pipe: \(String(cString: strerror(errno)))\n")
            return 1
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        setenv(readyVariable, String(writeEnd), 1)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [
            strdup(CommandLine.arguments[0]), strdup("-f"), strdup(interfaceName), nil,
        ]
        let rc = posix_spawn(&pid, "/proc/self/exe", nil, nil, argv, environ)
        close(writeEnd)
        guard rc == 0 else {
            printError("meshgate-wg: cannot start background process: \(String(cString: strerror(rc)))\n")
            return 1
        }
        var byte: UInt8 = 0
        let n = read(readEnd, &byte, 1)
        close(readEnd)
        return n == 1 && byte == UInt8(ascii: "R") ? 0 : 1
    }

    /// Closes every descriptor above 2 except `keep`.
    static func closeInheritedDescriptors(keeping keep: Int32) {
        let limit = min(Int32(sysconf(Int32(_SC_OPEN_MAX))), 65536)
        var fd: Int32 = 3
        while fd < limit {
            if fd != keep { close(fd) }
            fd += 1
        }
    }

    /// Points stdin/stdout at /dev/null once ready, so the launching shell is not held open; stderr
    /// stays for logs unless LOG_LEVEL=silent.
    static func detachStandardStreams() {
        let devNull = open("/dev/null", O_RDWR)
        guard devNull >= 0 else { return }
        dup2(devNull, 0)
        dup2(devNull, 1)
        if let level = getenv("LOG_LEVEL"), String(cString: level) == "silent" { dup2(devNull, 2) }
        close(devNull)
    }
}

/// Writes a line to standard error (Swift 6 forbids touching the C `stderr` global directly).
func printError(_ message: String) {
    let bytes = Array((message.hasSuffix("\n") ? message : message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
