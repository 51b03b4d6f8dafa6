/// Kills a cancelled step's container. The runtime refuses to kill a container it is still
/// creating, so the kill is retried until it lands or the run has ended.
actor ContainerKiller {
    private let runtime: OCIRuntime
    private let id: String
    private var runEnded = false

    init(runtime: OCIRuntime, id: String) {
        self.runtime = runtime
        self.id = id
    }

    /// Called once the runtime's `run` has returned; stops any retrying.
    func markRunEnded() {
        runEnded = true
    }

    /// Retries `kill` every 50 ms, for at most 10 s (the runtime's own teardown deadline).
    func kill() async {
        for _ in 0..<200 where !runEnded {
            if await runtime.kill(id: id) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
