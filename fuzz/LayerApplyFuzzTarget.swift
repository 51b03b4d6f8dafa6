// libFuzzer entry point for Kiln's layer application. Compiled into the same module as the
// KilnArchive sources by fuzz/run-layer-apply.sh (not part of the SwiftPM build).
//
// Each input is applied as a layer blob (gzip, zstd, plain tar or garbage: the applier tells
// them apart by magic number) by `LayerApplyContainmentCheck`, the same check the test suite
// runs over fuzz/corpus/layer-apply. An error from the applier is expected for most inputs;
// a file created or changed outside the target root, a root replaced by something else, a
// crash, a hang (-timeout) or unbounded memory (-rss_limit_mb) is a finding.
import Foundation

private let check = LayerApplyContainmentCheck(
    base: URL(fileURLWithPath: ProcessInfo.processInfo.environment["KILN_FUZZ_SANDBOX"]
        ?? NSTemporaryDirectory() + "/kiln-layer-apply-fuzz-\(getpid())"))

@_cdecl("LLVMFuzzerTestOneInput")
public func kilnLayerApplyFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try check.run(Array(UnsafeBufferPointer(start: data, count: size)))
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        abort()
    }
    return 0
}
