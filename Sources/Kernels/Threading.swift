import COpenBLAS

/// How many threads the numeric kernels may use. OpenBLAS keeps a process-wide pool, so this is
/// set once at start-up (by `--threads`), not per call.
public enum KernelThreads {
    /// Sets the BLAS thread count; values below 1 mean 1.
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The BLAS thread count in effect.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
