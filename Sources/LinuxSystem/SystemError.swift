/// A failed system call: which operation, and the errno it returned.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno))) (errno \(errno))" }
}

#if canImport(Glibc)
    import Glibc
#endif

/// The one door for system calls that report failure as -1 with errno: retries on EINTR, throws otherwise.
@inline(never)
func syscall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(operation(), errno: code)
    }
}

/// For the C shim's convention: a negative return is -errno.
func checkShim(_ operation: @autoclosure () -> String, _ result: Int32) throws(SystemError) -> Int32 {
    if result < 0 { throw SystemError(operation(), errno: -result) }
    return result
}
