/// Which stages each stage needs (its base, `COPY --from`, `RUN --mount from=`) and the
/// stages a target needs, in an order where every stage comes after what it needs.
public struct StageGraph: Sendable, Hashable, Encodable {
    /// For each stage (by index), the stages it needs, ascending.
    public var dependencies: [[Int]]

    /// Creates a graph from per-stage dependencies, rejecting cycles.
    ///
    /// - Parameter names: display names of the stages, for the cycle error.
    public init(dependencies: [[Int]], names: [String], locations: [SourceLocation]) throws(DockerfileError) {
        self.dependencies = dependencies.map { Array(Set($0)).sorted() }
        // Iterative three-colour DFS: the first grey stage reached again is on a cycle.
        var state = [UInt8](repeating: 0, count: dependencies.count)  // 0 new, 1 on stack, 2 done
        for root in dependencies.indices where state[root] == 0 {
            var stack: [(node: Int, next: Int)] = [(root, 0)]
            state[root] = 1
            while let top = stack.last {
                let deps = self.dependencies[top.node]
                if top.next < deps.count {
                    stack[stack.count - 1].next += 1
                    let dep = deps[top.next]
                    if state[dep] == 1 {
                        throw DockerfileError("circular dependency detected on stage: \(names[dep])", at: locations[dep])
                    }
                    if state[dep] == 0 {
                        state[dep] = 1
                        stack.append((dep, 0))
                    }
                } else {
                    state[top.node] = 2
                    stack.removeLast()
                }
            }
        }
    }

    /// The stages `target` needs, itself included: dependencies first, ties by file order.
    public func buildOrder(for target: Int) -> [Int] {
        var needed = Set<Int>()
        var pending = [target]
        while let stage = pending.popLast() {
            guard needed.insert(stage).inserted else { continue }
            pending += dependencies[stage]
        }
        var order: [Int] = []
        var placed = Set<Int>()
        // Repeatedly take the lowest-index stage whose dependencies are all placed (Kahn, stable).
        while order.count < needed.count {
            guard let next = needed.sorted().first(where: { !placed.contains($0) && dependencies[$0].allSatisfy(placed.contains) }) else { break }
            order.append(next)
            placed.insert(next)
        }
        return order
    }
}

extension Dockerfile {
    /// The stage `--target` names (last stage when `nil`), or an error listing the stage names.
    public func targetStage(_ target: String?) throws(DockerfileError) -> Stage {
        guard let target else { return stages[stages.count - 1] }
        if let stage = stage(named: target) { return stage }
        let names = stages.compactMap(\.name)
        let listing = names.isEmpty ? "the Dockerfile has no named stages" : "available stages: \(names.joined(separator: ", "))"
        throw DockerfileError("target stage \"\(target)\" could not be found (\(listing))",
                              suggestion: SpellingSuggestion.closest(to: target, in: names))
    }
}
