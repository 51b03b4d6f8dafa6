/// Which filesystem steps of a stage make a layer (`kiln build --commit`).
public enum CommitMode: String, Sendable, Hashable, CaseIterable {
    /// Every filesystem step (RUN, COPY, ADD, WORKDIR) makes its own layer and cache entry, as
    /// Docker and BuildKit do.
    case all
    /// Makisu's explicit commit points: a layer only at a RUN/COPY/ADD ending with `#!COMMIT` and
    /// at each stage's last filesystem step; what the steps in between change goes into the next
    /// commit point's layer. Cache entries exist at commit points only, keyed by the commit
    /// point's key (which covers every step before it), with the layers below the first step
    /// after the previous commit point as the basis.
    case explicit

    /// Whether step `index` of a stage's planned `steps` makes a layer and has a cache entry of
    /// its own: the one place that decides it. Metadata steps never do; in ``all`` every
    /// filesystem step does; in ``explicit`` a step marked `#!COMMIT` and the stage's last
    /// filesystem step (so nothing a stage changed is ever left out of its image).
    func commits(_ steps: [PlannedStep], at index: Int) -> Bool {
        guard steps[index].key != nil else { return false }
        switch self {
        case .all:
            return true
        case .explicit:
            return steps[index].resolved.instruction.source.endsWithCommitMarker
                || !steps[(index + 1)...].contains { $0.key != nil }
        }
    }
}
