/// A parsed Prometheus text exposition, enough to check what ``MetricsRegistry/render()`` produced:
/// `# HELP` and `# TYPE` lines per family, and every sample with its labels and value.
struct Exposition {
    struct Sample: Equatable, CustomStringConvertible {
        var name: String
        var labels: [String: String]
        var value: Double

        var description: String {
            let pairs = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
            return "\(name){\(pairs.joined(separator: ","))} \(value)"
        }
    }

    enum ParseError: Error, CustomStringConvertible {
        case malformedLine(String)
        var description: String {
            switch self {
            case .malformedLine(let line): "malformed exposition line: \(line)"
            }
        }
    }

    private(set) var help: [String: String] = [:]
    private(set) var types: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String) throws {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst("# HELP ".count)
                guard let space = rest.firstIndex(of: " ") else { throw ParseError.malformedLine(String(line)) }
                help[String(rest[..<space])] = String(rest[rest.index(after: space)...])
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst("# TYPE ".count).split(separator: " ")
                guard parts.count == 2 else { throw ParseError.malformedLine(String(line)) }
                types[String(parts[0])] = String(parts[1])
            } else if line.hasPrefix("#") {
                continue
            } else {
                samples.append(try Self.parseSample(Substring(line)))
            }
        }
    }

    /// The samples of one series name (a family name, or `<histogram>_bucket` / `_sum` / `_count`).
    func samples(named name: String) -> [Sample] {
        samples.filter { $0.name == name }
    }

    /// The value of the sample with exactly these labels, or `nil` if there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    private static func parseSample(_ line: Substring) throws -> Sample {
        var labels: [String: String] = [:]
        let name: Substring
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            name = line[..<brace]
            rest = line[line.index(after: brace)...]
            while !rest.hasPrefix("}") {
                guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].hasPrefix("\"") else {
                    throw ParseError.malformedLine(String(line))
                }
                let key = String(rest[..<equals])
                var value = ""
                var index = rest.index(equals, offsetBy: 2)
                var escaped = false
                while index < rest.endIndex {
                    let character = rest[index]
                    index = rest.index(after: index)
                    if escaped {
                        value.append(character == "n" ? "\n" : character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        value.append(character)
                    }
                }
                labels[key] = value
                rest = rest[index...]
                if rest.hasPrefix(",") { rest = rest.dropFirst() }
                guard !rest.isEmpty else { throw ParseError.malformedLine(String(line)) }
            }
            rest = rest.dropFirst()
        } else {
            guard let space = line.firstIndex(of: " ") else { throw ParseError.malformedLine(String(line)) }
            name = line[..<space]
            rest = line[space...]
        }
        let valueText = rest.trimmingPrefix(" ").split(separator: " ").first ?? ""
        guard let value = Double(valueText) else { throw ParseError.malformedLine(String(line)) }
        return Sample(name: String(name), labels: labels, value: value)
    }
}
