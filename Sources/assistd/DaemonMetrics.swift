import Metrics
import Prometheus

/// The daemon's metrics, through swift-metrics; `/metrics` serves them in the Prometheus text
/// format from `registry`.
struct DaemonMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let framesCaptured: Metrics.Counter
    let framesAnalysed: Metrics.Counter
    let framesDropped: Metrics.Counter
    let staleFrames: Metrics.Counter
    let cameraLosses: Metrics.Counter
    let cameraUp: Metrics.Gauge
    let utterances: Metrics.Counter
    let utterancesDropped: Metrics.Counter
    /// Utterances the wearer did not hear because synthesis or the sound device failed.
    let speechFailures: Metrics.Counter
    let stageSeconds: [String: Metrics.Timer]

    /// Registers with `MetricsSystem`'s factory, which `bootstrap` set to Prometheus.
    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        framesCaptured = Metrics.Counter(label: "assistd_frames_captured_total")
        framesAnalysed = Metrics.Counter(label: "assistd_frames_analysed_total")
        framesDropped = Metrics.Counter(label: "assistd_frames_dropped_total")
        staleFrames = Metrics.Counter(label: "assistd_frames_too_old_total")
        cameraLosses = Metrics.Counter(label: "assistd_camera_losses_total")
        cameraUp = Metrics.Gauge(label: "assistd_camera_up")
        utterances = Metrics.Counter(label: "assistd_utterances_total")
        utterancesDropped = Metrics.Counter(label: "assistd_utterances_dropped_total")
        speechFailures = Metrics.Counter(label: "assistd_speech_failures_total")
        var stages: [String: Metrics.Timer] = [:]
        for stage in StageWindow.stages {
            stages[stage] = Metrics.Timer(label: "assistd_stage_seconds", dimensions: [("stage", stage)], preferredDisplayUnit: .seconds)
        }
        stageSeconds = stages
    }

    /// Makes swift-metrics report into a Prometheus registry (once per process).
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
