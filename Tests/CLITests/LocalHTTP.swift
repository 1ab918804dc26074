import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a TCP port on loopback or a Unix domain socket, enough to talk
/// to assistd's API from the tests (Foundation's URLSession on Linux speaks neither Unix sockets
/// nor server-sent events).
struct LocalHTTP {
    enum Endpoint {
        case port(Int)
        case socket(String)
    }

    struct Reply {
        var status: Int
        var body: String
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let endpoint: Endpoint
    /// Sent as "Authorization: Bearer" (assistd's HTTP listener requires it).
    var token: String?

    func get(_ path: String) throws -> Reply { try request("GET", path) }
    func post(_ path: String) throws -> Reply { try request("POST", path) }

    /// `headers` replace the defaults of the same name (Host, Authorization); a nil value
    /// leaves that header out.
    func request(_ method: String, _ path: String, headers: [String: String?] = [:], timeout: Double = 5) throws -> Reply {
        var fields: [(String, String?)] = [("Host", "localhost"), ("Authorization", token.map { "Bearer \($0)" })]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let index = fields.firstIndex(where: { $0.0 == name }) { fields[index].1 = value } else { fields.append((name, value)) }
        }
        let head = fields.compactMap { name, value in value.map { "\(name): \($0)\r\n" } }.joined()
        return try Self.parse(try exchange(
            "\(method) \(path) HTTP/1.1\r\n\(head)Content-Length: 0\r\nConnection: close\r\n\r\n", readFor: timeout, untilClosed: true))
    }

    /// Sends `bytes` as they are (a malformed request, say) and reads the reply until the
    /// server closes the connection or `timeout` passes.
    func raw(_ bytes: String, timeout: Double = 3) throws -> String {
        try exchange(bytes, readFor: timeout, untilClosed: false)
    }

    static func parse(_ raw: String) throws -> Reply {
        guard let split = raw.range(of: "\r\n\r\n") else { throw Failure(description: "no HTTP header in \(raw.prefix(200))") }
        let head = raw[..<split.lowerBound]
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        var body = String(raw[split.upperBound...])
        if head.lowercased().contains("transfer-encoding: chunked") { body = Self.dechunk(body) }
        return Reply(status: status, body: body)
    }

    /// Server-sent events received on `path` within `seconds`: (event name, data).
    func events(_ path: String = "/events", for seconds: Double) throws -> [(name: String, data: String)] {
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let raw = try exchange(
            "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\(authorization)Accept: text/event-stream\r\n\r\n", readFor: seconds, untilClosed: false)
        var events: [(String, String)] = []
        var name: String?
        // "\r\n" is one Character in Swift: normalise line ends before splitting.
        for line in raw.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: "), let current = name {
                events.append((current, String(line.dropFirst(6))))
                name = nil
            }
        }
        return events
    }

    private func exchange(_ request: String, readFor seconds: Double, untilClosed: Bool) throws -> String {
        let descriptor = try connect()
        defer { close(descriptor) }
        var bytes = Array(request.utf8)
        guard send(descriptor, &bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw Failure(description: "send failed: \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                received += buffer[0..<count]
            } else if count == 0 {
                break
            } else if errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                throw Failure(description: "recv failed: \(String(cString: strerror(errno)))")
            }
        }
        if untilClosed, Date() >= end { throw Failure(description: "no complete reply within \(seconds) s") }
        if received.isEmpty, untilClosed { throw Failure(description: "the connection closed with no reply") }
        return String(decoding: received, as: UTF8.self)
    }

    /// An open connection with nothing sent on it (for flooding the server in tests).
    func connect() throws -> Int32 {
        switch endpoint {
        case .port(let port):
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else {
                close(descriptor)
                throw Failure(description: "connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
            }
            return descriptor
        case .socket(let path):
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                close(descriptor)
                throw Failure(description: "connect to \(path): \(String(cString: strerror(errno)))")
            }
            return descriptor
        }
    }

    static func dechunk(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let bytes = Array(rest[start...].utf8)
            out += String(decoding: bytes.prefix(size), as: UTF8.self)
            rest = Substring(String(decoding: bytes.dropFirst(size + 2), as: UTF8.self))
        }
        return out
    }
}
