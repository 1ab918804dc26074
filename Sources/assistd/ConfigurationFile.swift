import CYaml
import Foundation

/// Reading the configuration file safely: the daemon re-reads it on SIGHUP while it guides
/// someone across a street, so a wrong path or a hostile file must fail fast with a message and
/// never exhaust memory or block.
enum ConfigurationFile {
    /// The file's text, refused (with the path) unless it is a regular file of at most `limit`
    /// bytes of UTF-8. Opened without blocking, so a FIFO or a device given as the path is
    /// refused instead of hanging the reload.
    static func read(_ path: String, limit: Int) throws(ConfigurationError) -> String {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = errno == ENOENT ? "no such file" : "cannot be opened (\(String(cString: strerror(errno))))"
            throw .unreadable(path, reason: reason)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadable(path, reason: "not a regular file")
        }
        guard info.st_size <= limit else {
            throw .invalid(path, problem: "the file is \(info.st_size) bytes; a configuration file may be at most \(limit) bytes")
        }
        // One byte more than allowed tells a file that grew after fstat from one that fits.
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path, reason: "cannot be read (\(String(cString: strerror(errno))))")
            }
            count += got
        }
        guard count <= limit else {
            throw .invalid(path, problem: "the file is more than \(limit) bytes; a configuration file may be at most \(limit) bytes")
        }
        guard let text = String(validating: bytes[..<count], as: UTF8.self) else {
            throw .unreadable(path, reason: "cannot be read as UTF-8 text")
        }
        return text
    }

    /// Refuses YAML anchors (`&name`) and aliases (`*name`, including merge keys `<<: *name`),
    /// and lists or sections nested deeper than `YAMLTree.maxDepth`, walking libyaml's event
    /// stream, which neither expands aliases nor recurses: building the tree of a file of nested
    /// aliases (a "billion laughs" bomb) takes gigabytes, the daemon's settings have no use for
    /// shared values, and Yams builds its tree recursively, so `a: [[[[…` 65,000 deep would
    /// overflow the stack (on SIGHUP, killing a daemon that is guiding someone) before the tree's
    /// own depth check could run. Syntax errors are left to the YAML loader, whose message says
    /// where they are.
    static func refuseAnchorsAndAliases(in text: String, path: String) throws(ConfigurationError) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw .invalid(path, problem: "the YAML parser could not be initialised (out of memory)")
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        let found: String? = bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var event = yaml_event_t()
            var depth = 0
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                let anchor: UnsafeMutablePointer<yaml_char_t>?
                var kind = "anchor &"
                switch event.type {
                case YAML_ALIAS_EVENT:
                    anchor = event.data.alias.anchor
                    kind = "alias *"
                case YAML_SCALAR_EVENT: anchor = event.data.scalar.anchor
                case YAML_SEQUENCE_START_EVENT:
                    anchor = event.data.sequence_start.anchor
                    depth += 1
                case YAML_MAPPING_START_EVENT:
                    anchor = event.data.mapping_start.anchor
                    depth += 1
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    anchor = nil
                    depth -= 1
                case YAML_STREAM_END_EVENT: return nil
                default: anchor = nil
                }
                if let anchor {
                    return "line \(line): YAML anchors and aliases are not accepted (found \(kind)\(String(cString: anchor))); "
                        + "write each value out in full"
                }
                if depth > YAMLTree.maxDepth {
                    return "line \(line): nested deeper than \(YAMLTree.maxDepth) levels"
                }
            }
            return nil
        }
        if let found { throw .invalid(path, problem: found) }
    }
}
