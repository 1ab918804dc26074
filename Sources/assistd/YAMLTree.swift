import Yams

/// Builds the YAML tree of a configuration file in two steps, checking the node tree between
/// them, because Yams' one-step `load` trusts its input in two ways that matter to a daemon that
/// re-reads its file on SIGHUP:
/// - a mapping key that is not a scalar (`[2]: x`, found by fuzzing) is force-unwrapped inside
///   Yams' constructor and kills the process;
/// - two equal keys in one mapping are merged silently, the last one winning, so `rate: 6` above
///   `rate: 60` is not what the reader of the file sees first.
/// Both are refused with the file, the line and the key; merge keys (`<<`) too, since they hide
/// where a value comes from.
enum YAMLTree {
    /// Mappings nested deeper than this are refused: the schema is two levels deep, and the
    /// construction recurses once per level.
    static let maxDepth = 32

    static func load(_ text: String, path: String) throws(ConfigurationError) -> Any? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .invalid(path, problem: "not valid YAML: \(error)")
        }
        guard let root else { return nil }
        try check(root, path: path, depth: 0)
        return Constructor.default.any(from: root)
    }

    private static func check(_ node: Node, path: String, depth: Int) throws(ConfigurationError) {
        if depth > maxDepth {
            throw .invalid(path, problem: "line \(node.mark?.line ?? 0): nested deeper than \(maxDepth) levels")
        }
        if let mapping = node.mapping {
            var seen: [String: Int] = [:]
            for (key, value) in mapping {
                let line = key.mark?.line ?? 0
                guard let name = key.scalar?.string else {
                    throw .invalid(path, problem: "line \(line): a key must be a plain name, not a list or a section")
                }
                if name == "<<" {
                    throw .invalid(path, problem: "line \(line): merge keys (<<) are not allowed; write the keys out")
                }
                if let first = seen[name] {
                    throw .invalid(path, problem: "line \(line): the key \(name) appears twice (first at line \(first)); keep one")
                }
                seen[name] = line
                try check(value, path: path, depth: depth + 1)
            }
        } else if let sequence = node.sequence {
            for element in sequence {
                try check(element, path: path, depth: depth + 1)
            }
        }
    }
}
