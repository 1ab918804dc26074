import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Bounds what API clients can hold of the daemon: a listener keeps at most `maxConnections`
/// open, a connection waiting for a request is closed after `idleTimeout`, one that has
/// started a request must finish its headers within `headerTimeout`, and one that stops reading
/// what it is sent (its answers fill the buffers) is closed after `idleTimeout` of that.
///
/// The last bounds a connection in a request, which is never evicted: without it a client that
/// pipelined a few hundred requests (refused ones too, no token needed) and never read the
/// answers held its slot for as long as it liked, and sixteen of them locked the wearer's own
/// software out; so did an event stream whose client hung.
///
/// Without these, idle loopback connections took every file descriptor the process may open:
/// the camera could not be reopened and eSpeak-ng could not read its dictionaries, so the
/// danger messages went silent. When the cap is reached the oldest connection with no request
/// in progress is closed to make room (a flood of idle connections cannot lock the wearer's own
/// software out); only when every slot is busy with a request is the new connection refused.
final class ConnectionGuard: Sendable {
    struct Limits: Sendable {
        var maxConnections: Int
        var idleTimeout: TimeAmount
        var headerTimeout: TimeAmount
    }

    /// What the guard has done, for `/status`.
    struct Counts: Sendable, Encodable, Equatable {
        var open = 0
        var maxConnections = 0
        /// Closed to make room for a newer connection.
        var evicted = 0
        /// Closed at once: every slot was busy with a request.
        var refused = 0
        var idleTimeouts = 0
        var headerTimeouts = 0
        /// Closed because the client read nothing of what it was sent for `idleTimeout`.
        var stalledTimeouts = 0

        enum CodingKeys: String, CodingKey {
            case open, evicted, refused
            case maxConnections = "max_connections"
            case idleTimeouts = "idle_timeouts"
            case headerTimeouts = "header_timeouts"
            case stalledTimeouts = "stalled_timeouts"
        }
    }

    private struct Entry {
        var channel: any Channel
        var inRequest = false
    }

    private struct Registry {
        var next = 0
        var entries: [Int: Entry] = [:]
        var counts = Counts()
        var lastWarning: ContinuousClock.Instant?
    }

    let limits: Limits
    let listener: String
    private let logger: Logger
    private let registry: Mutex<Registry>

    init(limits: Limits, listener: String, logger: Logger) {
        self.limits = limits
        self.listener = listener
        self.logger = logger
        var registry = Registry()
        registry.counts.maxConnections = limits.maxConnections
        self.registry = Mutex(registry)
    }

    var counts: Counts {
        registry.withLock { registry in
            var counts = registry.counts
            counts.open = registry.entries.count
            return counts
        }
    }

    /// Registers a new connection and returns its id, or nil if it was refused (and closed).
    /// Entries are numbered in arrival order, so the smallest idle id is the oldest.
    func admit(_ channel: any Channel) -> Int? {
        let (id, victim, warn) = registry.withLock { registry -> (Int?, (any Channel)?, Bool) in
            let id = registry.next
            registry.next += 1
            registry.entries[id] = Entry(channel: channel)
            guard registry.entries.count > limits.maxConnections else { return (id, nil, false) }
            let now = ContinuousClock.now
            let warn = registry.lastWarning.map { now - $0 > .seconds(10) } ?? true
            if warn { registry.lastWarning = now }
            let oldestIdle = registry.entries.filter { $0.key != id && !$0.value.inRequest }.keys.min()
            if let oldestIdle, let victim = registry.entries.removeValue(forKey: oldestIdle) {
                registry.counts.evicted += 1
                return (id, victim.channel, warn)
            }
            registry.entries.removeValue(forKey: id)
            registry.counts.refused += 1
            return (nil, channel, warn)
        }
        if warn {
            logger.warning("api connection limit reached; closing the oldest idle connection or refusing new ones", metadata: [
                "listener": "\(listener)", "max_connections": "\(limits.maxConnections)",
            ])
        }
        victim?.close(promise: nil)
        return id
    }

    func setInRequest(_ id: Int, _ inRequest: Bool) {
        registry.withLock { $0.entries[id]?.inRequest = inRequest }
    }

    func remove(_ id: Int) {
        _ = registry.withLock { $0.entries.removeValue(forKey: id) }
    }

    enum Timeout { case idle, header, stalled }

    func timedOut(_ id: Int, _ kind: Timeout) {
        registry.withLock { registry in
            registry.entries.removeValue(forKey: id)
            switch kind {
            case .idle: registry.counts.idleTimeouts += 1
            case .header: registry.counts.headerTimeouts += 1
            case .stalled: registry.counts.stalledTimeouts += 1
            }
        }
    }

    /// The HTTP/1 server for `Application`, with this guard's handlers in every connection.
    func http1Server() -> HTTPServerBuilder {
        HTTPServerBuilder { [self] responder in GuardedHTTP1Channel(responder: responder, connections: self) }
    }
}

/// Hummingbird's HTTP/1 child channel with the guard's two watchers added: one ahead of the HTTP
/// decoder, which sees the first raw byte of a request (the header timer starts there), and one
/// behind it, which sees complete request heads and the ends of responses.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let connections: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let watch = NIOLoopBound(ConnectionWatch(connections: connections), eventLoop: channel.eventLoop)
        do {
            try channel.pipeline.syncOperations.addHandler(RawBytesWatcher(watch: watch.value), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        // Hummingbird's own idle timer also bounds a request body that stops arriving.
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestWatcher(watch: watch.value)], idleTimeout: connections.limits.idleTimeout)
        return HTTP1Channel(responder: responder, configuration: configuration).setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}

/// One connection's place in the guard and its timer; touched only on the connection's event
/// loop, by its two watchers.
final class ConnectionWatch {
    enum Phase {
        /// No request in progress: the idle timer runs.
        case waiting
        /// A request's first bytes came, its head is not complete: the header timer runs.
        case readingHead
        /// A request head was read and its response has not ended: no timer (an event stream
        /// stays open for as long as its client listens).
        case inRequest
    }

    let connections: ConnectionGuard
    var id: Int?
    var phase = Phase.waiting
    var requestsOpen = 0
    private var timer: Scheduled<Void>?
    /// What the running timer is for, if one runs.
    private var armed: ConnectionGuard.Timeout?

    init(connections: ConnectionGuard) {
        self.connections = connections
    }

    func activate(_ context: ChannelHandlerContext) {
        guard id == nil else { return }
        id = connections.admit(context.channel)
        if id != nil { arm(context, .idle) }
    }

    func deactivate() {
        cancelTimer()
        if let id { connections.remove(id) }
        id = nil
    }

    /// The connection can take no more output: its client stopped reading. It is closed unless it
    /// reads again within the idle timeout, whatever it is doing.
    func stalled(_ context: ChannelHandlerContext) {
        // A running header timer is the sooner deadline: it stands.
        guard id != nil, armed != .header else { return }
        arm(context, .stalled)
    }

    /// The client reads again: the timer of the phase the connection is in takes over.
    func resumed(_ context: ChannelHandlerContext) {
        guard id != nil, armed == .stalled else { return }
        cancelTimer()
        switch phase {
        case .waiting: arm(context, .idle)
        case .readingHead: arm(context, .header)
        case .inRequest: disarm(context)
        }
    }

    /// Starts `kind`'s timer in place of the running one, except that a stalled connection's
    /// timer stands whatever the connection does (a new request head, an answer's end) until its
    /// client reads again (`resumed`).
    func arm(_ context: ChannelHandlerContext, _ kind: ConnectionGuard.Timeout) {
        if armed == .stalled, kind != .stalled { return }
        timer?.cancel()
        armed = kind
        let delay = kind == .header ? connections.limits.headerTimeout : connections.limits.idleTimeout
        let channel = context.channel
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        timer = loop.scheduleTask(in: delay) {
            let watch = bound.value
            guard let id = watch.id else { return }
            watch.id = nil
            watch.connections.timedOut(id, kind)
            channel.close(promise: nil)
        }
    }

    /// Stops the running timer, unless the connection is stalled (see `arm`); one that stalled
    /// while its header timer ran (which stood, being sooner) gets its stalled timer now.
    func disarm(_ context: ChannelHandlerContext) {
        if armed == .stalled { return }
        cancelTimer()
        if id != nil, !context.channel.isWritable { arm(context, .stalled) }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        armed = nil
    }
}

/// Ahead of the HTTP decoder: admits the connection and starts the header timer at the first
/// byte of a request.
final class RawBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let watch: ConnectionWatch

    init(watch: ConnectionWatch) {
        self.watch = watch
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { watch.activate(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        watch.activate(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.deactivate()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watch.deactivate()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if watch.phase == .waiting, watch.id != nil {
            watch.phase = .readingHead
            watch.arm(context, .header)
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { watch.resumed(context) } else { watch.stalled(context) }
        context.fireChannelWritabilityChanged()
    }
}

/// Behind the HTTP decoder: a complete request head stops the header timer and marks the
/// connection busy (not to be evicted); the end of the last response starts the idle timer.
final class RequestWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let watch: ConnectionWatch

    init(watch: ConnectionWatch) {
        self.watch = watch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            watch.requestsOpen += 1
            watch.phase = .inRequest
            watch.disarm(context)
            if let id = watch.id { watch.connections.setInRequest(id, true) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            watch.requestsOpen = max(0, watch.requestsOpen - 1)
            if watch.requestsOpen == 0, watch.id != nil {
                watch.phase = .waiting
                watch.arm(context, .idle)
                if let id = watch.id { watch.connections.setInRequest(id, false) }
            }
        }
        context.write(data, promise: promise)
    }
}
