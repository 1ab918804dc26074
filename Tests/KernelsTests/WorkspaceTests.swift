import Kernels
import Testing

@Suite("Tensor and workspace")
struct WorkspaceTests {
    @Test("Tensors are zero-filled, 64-byte aligned, and view their last dimension as columns")
    func tensorLayout() {
        let t = Tensor(shape: [2, 3, 5])
        #expect(t.count == 30 && t.values.allSatisfy { $0 == 0 })
        #expect(Int(bitPattern: t.storage.baseAddress!) % Tensor.alignment == 0)
        #expect(t.matrix.rows == 6 && t.matrix.columns == 5)
        let empty = Tensor(shape: [4, 0])
        #expect(empty.count == 0 && empty.matrix.rows == 4 && empty.matrix.columns == 0)
    }

    @Test("A workspace made from a plan holds exactly the planned slices, each 64-byte aligned")
    func planAndTake() {
        var plan = WorkspacePlan()
        plan.reserve(rows: 101, columns: 576)
        plan.reserve(3)
        plan.reserve(Attention.scratchCount(queries: 101, keys: 101))
        let workspace = Workspace(plan)
        #expect(workspace.capacity == plan.capacity)
        for _ in 0..<3 {
            workspace.reset()
            let a = workspace.take(rows: 101, columns: 576)
            let b = workspace.take(3)
            let c = workspace.take(Attention.scratchCount(queries: 101, keys: 101))
            for p in [UnsafeRawPointer(a.base), UnsafeRawPointer(b.baseAddress!), UnsafeRawPointer(c.baseAddress!)] {
                #expect(Int(bitPattern: p) % Tensor.alignment == 0)
            }
            #expect(b.baseAddress! >= a.base + 101 * 576)
            #expect(c.baseAddress! >= b.baseAddress! + 3)
        }
        #expect(workspace.used == plan.capacity && workspace.highWater == plan.capacity)
    }

    @Test("reset hands out the same memory again (no growth across passes)")
    func resetReuses() {
        let workspace = Workspace(capacity: 64)
        let first = workspace.take(10).baseAddress
        workspace.reset()
        #expect(workspace.take(10).baseAddress == first)
        #expect(workspace.used == WorkspacePlan.padded(10))
    }

    @Test("Plans for passes that run one after another take the larger")
    func planUnion() {
        var a = WorkspacePlan(), b = WorkspacePlan()
        a.reserve(100)
        b.reserve(1000)
        #expect(a.union(b).capacity == b.capacity)
        #expect(WorkspacePlan.padded(1) == 16 && WorkspacePlan.padded(16) == 16 && WorkspacePlan.padded(0) == 0)
    }

    @Test("KernelThreads sets the number of kernel lanes")
    func threads() {
        let before = KernelThreads.current
        KernelThreads.set(1)
        #expect(KernelThreads.current == 1)
        KernelThreads.set(0)
        #expect(KernelThreads.current == 1)
        KernelThreads.set(before)
    }
}
