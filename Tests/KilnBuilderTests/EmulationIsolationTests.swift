import Foundation
import Glibc
import KilnTestSupport
import Testing

extension IsolationSuites {
    /// An arm64 RUN under QEMU in every isolation mode: the binfmt_misc handler's F flag makes
    /// the interpreter work in runc's namespaces (as root, rootless, in a user-namespaced pod)
    /// and in a chroot alike, with nothing of the emulator in the step's root filesystem.
    @Suite(
        "RUN for linux/arm64 under QEMU in every isolation mode", .serialized,
        .enabled(if: geteuid() == 0 && Emulators.isAarch64Available, "needs root and the qemu-aarch64 handler (qemu-user-static)"),
        .enabled(if: TestUser.isAvailable, "needs root (to add test users), unshare, newuidmap, setpriv and user namespaces"))
    struct EmulationIsolationTests {
        @Test("RUN uname -m gives aarch64 in the layer, and the step is recorded as emulated", arguments: ["root"] + IsolationParityTests.modes)
        func emulatedInMode(_ mode: String) throws {
            let kiln = try IsolatedKiln.named(mode)
            let base = try BaseImages.busyboxArm64()
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", base.layout.path])
            let work = try kiln.workDirectory("emulation")
            defer { try? FileManager.default.removeItem(at: work) }
            let context = work.appendingPathComponent("context")
            try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
            try Data("FROM busybox-arm64\nRUN uname -m > /arch && test ! -e /usr/libexec/qemu-binfmt && sed 's/^/ARCH /' /arch\n".utf8)
                .write(to: context.appendingPathComponent("Dockerfile"))
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", work.path])
            let metadata = work.appendingPathComponent("metadata.json")
            let layout = work.appendingPathComponent("out")
            let result = try kiln.run(
                ["build", "--progress", "plain", "--platform", "linux/arm64",
                 "--build-context", "busybox-arm64=oci-layout://\(base.layout.path):\(base.refName)",
                 "--metadata-file", metadata.path, "--output", "type=oci,dest=\(layout.path)"] + kiln.buildFlags + [context.path],
                environment: ["KILN_ROOT": work.appendingPathComponent("root").path], in: work)
            #expect(result.status == 0, "\(mode): \(result.stderr.suffix(3000))")
            #expect(result.stderr.contains("ARCH aarch64"), "\(mode): \(result.stderr.suffix(3000))")
            let expected = try ProcessRunner.checked("/usr/bin/sha256sum", ["-"], stdin: Data("aarch64\n".utf8)).stdout.prefix(64)
            #expect(try LayerEntries(layout: layout).contents["arch"] == String(expected), "\(mode): /arch is not aarch64")
            let document = try JSONSerialization.jsonObject(with: Data(contentsOf: metadata)) as? [String: Any]
            let steps = document?["kiln.steps"] as? [[String: Any]] ?? []
            #expect(steps.map { $0["emulated"] as? Bool } == [true] && steps.map { $0["platform"] as? String } == ["linux/arm64"],
                    "\(mode): \(steps)")
        }
    }
}
