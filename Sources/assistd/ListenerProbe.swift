import Glibc
import NIOCore

/// Start-up checks of the API's addresses, made before the camera and the narration start, so a
/// place that cannot be listened on stops the daemon with the setting named (exit 3) instead of
/// ending it later with the network library's words (and a restart loop under systemd).
enum ListenerProbe {
    /// The longest Unix socket path the daemon can listen on: swift-nio's limit
    /// (`SocketAddress(unixDomainSocketPath:)`, 103 bytes), under the kernel's 107.
    static let maxSocketPath = min(MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1, 103)

    /// Why `host:port` cannot be listened on now, or nil: the address the server will bind (the
    /// first `host` resolves to, as swift-nio takes it) is bound and released at once. Only a port
    /// in use or not permitted counts. Port 0 (any free port) always can.
    static func bindProblem(host: String, port: Int) -> String? {
        guard port != 0 else { return nil }
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            return "cannot resolve \(host)"
        }
        let descriptor = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { bind(descriptor, $0, socklen_t($1)) }
        let code = errno
        guard bound != 0, code == EADDRINUSE || code == EACCES else { return nil }
        return String(cString: strerror(code))
    }

    /// Whether a process accepts connections on the Unix socket at `path`. The connect does not
    /// wait: a daemon too wedged to accept (its backlog full) still counts as there.
    static func answers(socketPath path: String) -> Bool {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
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
        return connected == 0 || errno == EAGAIN
    }
}
