extension PatternMatcher {
    /// Whether `directory` and everything below it are excluded, so a walk may skip the
    /// directory without listing it.
    ///
    /// Excluding a directory excludes its contents, unless a later exception could match
    /// something inside it (`["build", "!build/keep"]`, `["*", "!**/*.go"]`). Moby's
    /// walkers only skip when no exception could re-include anything; this answers the
    /// same question per directory: the directory must be excluded, and no exception
    /// pattern after the last pattern that excludes it may be able to match a path that
    /// starts with `directory/`. It errs towards `false`, which only costs a longer walk.
    public func excludesEverything(under directory: String) -> Bool {
        let directory = SlashPath.clean(directory)
        guard let lastApplying = lastApplyingPattern(to: directory),
              !patterns[lastApplying].isException else { return false }
        let laterExceptions = patterns[(lastApplying + 1)...].filter(\.isException)
        if laterExceptions.isEmpty { return true }
        var descendantPrefix = directory.hasSuffix("/") ? directory : directory + "/"
        return descendantPrefix.withUTF8 { prefix in
            !laterExceptions.contains { $0.compiled.canMatchPath(startingWith: prefix) }
        }
    }

    /// The index of the last pattern that matches `path` or one of its parents. Because a
    /// skipped pattern never changes the outcome, that pattern decides whether `path` is
    /// excluded. `nil` when none applies, or when evaluating a pattern fails.
    private func lastApplyingPattern(to path: String) -> Int? {
        let found = try? withPathAndParent(path) { path throws(PatternError) -> Int? in
            for index in patterns.indices.reversed() {
                if try patterns[index].applies(to: path) { return index }
            }
            return nil
        }
        return found ?? nil
    }
}
