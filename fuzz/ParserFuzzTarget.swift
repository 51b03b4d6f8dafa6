// libFuzzer entry point for Kiln's Dockerfile frontend. Compiled into the same module as
// the KilnDockerfile sources by fuzz/parser.sh (not part of the SwiftPM build).
//
// Each input is run through every stage a user's Dockerfile meets: the parser and its dump,
// the typed instructions and stage graph, ARG/ENV expansion of each stage, the shell lexer
// on the raw text, and the .dockerignore reader and matcher. A crash, a hang (libFuzzer's
// -timeout) or unbounded memory (-rss_limit_mb) is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func kilnFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    FrontendExercise.run(bytes)
    return 0
}
