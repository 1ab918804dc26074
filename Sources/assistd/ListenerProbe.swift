import Glibc

/// Start-up checks of the API's addresses, made before the camera and the narration start, so a
/// place that cannot be listened on stops the daemon with the setting named (exit 3) instead of
/// ending it later with the network library's words (and a restart loop under systemd).
enum ListenerProbe {
    /// The longest Unix socket path the kernel accepts (`sun_path` less its terminating zero).
    static let maxSocketPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Why `host:port` cannot be listened on now, or nil: each address it resolves to is bound
    /// and released at once. Only a port in use or not permitted counts (an address family the
    /// machine lacks, such as IPv6 for "localhost", is the listener's to skip). Port 0 (any free
    /// port) always can.
    static func bindProblem(host: String, port: Int) -> String? {
        guard port != 0 else { return nil }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return "cannot resolve \(host)" }
        defer { freeaddrinfo(first) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard descriptor >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen)
            let code = errno
            close(descriptor)
            if bound != 0, code == EADDRINUSE || code == EACCES { return String(cString: strerror(code)) }
        }
        return nil
    }

    /// Whether a process accepts connections on the Unix socket at `path`.
    static func answers(socketPath path: String) -> Bool {
        guard path.utf8.count <= maxSocketPath else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return connected == 0
    }
}
