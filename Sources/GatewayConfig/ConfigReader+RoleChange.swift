/// `ha.on_role_change` and `ha.on_role_change_timeout`: the command meshgated runs when this member's role
/// changes, for what a LAN virtual IP cannot do in most clouds (ask the provider's API to move an address
/// or a route).
extension ConfigReader {
    /// The longest `on_role_change_timeout` accepted: a hook that needs longer should detach its own work.
    static let longestRoleChangeTimeout: Duration = .seconds(300)

    /// Reads the hook from the `ha` fields. The command is a sequence of strings (argv, no shell), the
    /// first an absolute path; the timeout lies between 100 ms and 300 s.
    mutating func roleChangeCommand(_ fields: Fields) -> (command: [String]?, timeout: Duration) {
        var timeout: Duration = .seconds(10)
        let timeoutKey = fields.path(of: "on_role_change_timeout")
        if let value = duration(fields, "on_role_change_timeout") {
            if value < .milliseconds(100) || value > Self.longestRoleChangeTimeout {
                record(
                    .invalidValue(
                        key: timeoutKey, value: text(fields, "on_role_change_timeout") ?? "",
                        reason: "must lie between 100ms and 300s"))
            } else {
                timeout = value
            }
        }
        guard let items = sequence(fields, "on_role_change") else { return (nil, timeout) }
        let key = fields.path(of: "on_role_change")
        var command: [String] = []
        for item in items {
            guard let text = text(item.node, at: item.path) else { return (nil, timeout) }
            if text.utf8.contains(0) {
                record(.invalidValue(key: item.path, value: text, reason: "must not contain a NUL byte"))
                return (nil, timeout)
            }
            command.append(text)
        }
        guard let program = command.first else {
            record(
                .invalidValue(
                    key: key, value: "[]",
                    reason: "needs at least the program, an absolute path (the new role and group are appended)"))
            return (nil, timeout)
        }
        guard program.hasPrefix("/") else {
            record(
                .invalidValue(
                    key: "\(key)[0]", value: program,
                    reason: "must be an absolute path: the command runs without a shell and without a PATH search"))
            return (nil, timeout)
        }
        return (command, timeout)
    }
}
