import Foundation
import Hummingbird

/// Host names that reach this machine only.
enum LoopbackNames {
    /// `localhost` (and names under it), 127.0.0.0/8 and ::1, with or without IPv6 brackets.
    static func isLoopback(host: String) -> Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name.hasSuffix(".localhost") || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        var address = in_addr()
        return inet_pton(AF_INET, name, &address) == 1 && UInt32(bigEndian: address.s_addr) >> 24 == 127
    }

    /// An IPv4 or IPv6 address literal: no DNS name, so no DNS rebinding through it.
    static func isAddressLiteral(host: String) -> Bool {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    /// The host of a `Host` header value (`localhost:8377`, `[::1]:8377`, `127.0.0.1`).
    static func host(ofAuthority authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[...close])
        }
        if authority.filter({ $0 == ":" }).count == 1, let colon = authority.firstIndex(of: ":") {
            return String(authority[..<colon])
        }
        return authority
    }
}

/// Who may use one listener of the API. The Unix socket is protected by its file mode (0600:
/// the daemon's own user only), so it needs nothing more. HTTP can be reached by every local
/// user and, through the wearer's browser, by any web page (DNS rebinding, or a plain form POST
/// to 127.0.0.1): it needs the bearer token, a `Host` naming this machine and no foreign
/// `Origin`, because a paused daemon is silent about a red light.
struct APIAccess: Sendable, Equatable {
    /// The bearer token every request must carry; nil on the Unix socket.
    var token: String?
    /// Also accept IP-address literals as `Host` (only with `api.allow_public`, where other
    /// machines name the wearable by address).
    var acceptsAddressHosts = false

    static let socket = APIAccess(token: nil)

    /// Why a request is refused, as the HTTP status and a message the integrator can act on.
    struct Refusal: Error, Equatable {
        var status: HTTPResponse.Status
        var message: String
    }

    /// Nil if a request with these headers may go on.
    func refusal(authority: String?, origin: String?, authorization: String?) -> Refusal? {
        guard let token else { return nil }
        guard let authority, !authority.isEmpty else {
            return Refusal(status: .forbidden, message: "a Host header is required (localhost, 127.0.0.1 or [::1])")
        }
        let host = LoopbackNames.host(ofAuthority: authority)
        guard LoopbackNames.isLoopback(host: host) || (acceptsAddressHosts && LoopbackNames.isAddressLiteral(host: host)) else {
            return Refusal(status: .forbidden, message: "Host '\(authority)' is not this machine; use localhost, 127.0.0.1 or [::1]")
        }
        if let origin {
            let originHost = URLComponents(string: origin)?.host
            guard let originHost, LoopbackNames.isLoopback(host: originHost) else {
                return Refusal(status: .forbidden, message: "requests from web pages (Origin '\(origin)') are not accepted")
            }
        }
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else {
            return Refusal(status: .unauthorized, message: "send 'Authorization: Bearer TOKEN' with the token from api.token_file")
        }
        let offered = authorization.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        guard Self.constantTimeEqual(offered, token) else {
            return Refusal(status: .unauthorized, message: "wrong bearer token; it is in api.token_file")
        }
        return nil
    }

    /// Compares every byte whatever the first difference, so that response times do not tell
    /// a local attacker how much of a guess was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for (p, q) in zip(x, y) { difference |= p ^ q }
        return difference == 0
    }
}

/// Applies an `APIAccess` to every request of a listener, before routing.
struct APIAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: APIAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = access.refusal(
            authority: request.head.authority, origin: request.headers[.origin], authorization: request.headers[.authorization])
        {
            var response = try ControlAPI.json(ControlAPI.Problem(error: refusal.message), status: refusal.status)
            if refusal.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
            return response
        }
        return try await next(request, context)
    }
}

/// The HTTP listener's bearer token, kept in a file only the daemon's user can read.
enum APITokenFile {
    /// Why the token file cannot be used.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the token at `path`, or creates the file with a new random token (mode 0600) if
    /// there is none. A file that others could read, or that is not a plain file, is refused:
    /// a leaked token lets any local process silence the wearer's warnings.
    static func loadOrCreate(_ path: String) throws(Failure) -> String {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else { throw Failure(description: "api.token_file \(path): \(String(cString: strerror(errno)))") }
            return try create(path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Failure(description: "api.token_file \(path) is not a regular file (a symbolic link, FIFO or device is not trusted)")
        }
        guard info.st_uid == geteuid() else {
            throw Failure(description: "api.token_file \(path) belongs to user \(info.st_uid), not to the daemon's user \(geteuid())")
        }
        guard info.st_mode & 0o077 == 0 else {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw Failure(description: "api.token_file \(path) can be read by other users (mode \(mode)); run: chmod 600 \(path)")
        }
        let text: String
        do {
            text = try ConfigurationFile.read(path, limit: 4096)
        } catch {
            throw Failure(description: "api.token_file \(error)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 32, token.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\"" }) else {
            throw Failure(description: "api.token_file \(path) holds no usable token (32 or more printable characters); delete it and a new one is made at start")
        }
        return token
    }

    /// Writes a new 256-bit token in hex, refusing to follow or overwrite anything at `path`.
    private static func create(_ path: String) throws(Failure) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw Failure(description: "api.token_file \(path): cannot create the folder \(folder) (\(error.localizedDescription))")
            }
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "api.token_file \(path): cannot be created (\(String(cString: strerror(errno))))")
        }
        defer { close(descriptor) }
        let line = Array((token + "\n").utf8)
        guard write(descriptor, line, line.count) == line.count, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw Failure(description: "api.token_file \(path): cannot be written (\(reason))")
        }
        return token
    }
}
