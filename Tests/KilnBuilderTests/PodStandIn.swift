import Foundation
import KilnTestSupport

/// The stand-ins for a cluster that ``PodStandInTests`` share: a private dockerd with Kiln's own
/// image loaded into it, made on first use and stopped when the test process exits (one daemon
/// and one `docker load` per kind for the suite: vfs makes both slow).
struct PodStandIn: Sendable {
    let docker: PrivateDockerDaemon
    let image: KilnImageFixture.Image

    /// With `--userns-remap`: each container has a user namespace of its own (`hostUsers: false`).
    static let shared = Task<PodStandIn, any Error> { try await start(userNamespaceRemap: true) }
    /// Without: containers share the host's user namespace and see the image's files as they are
    /// (the remapping daemon shows a `--userns=host` container the image owned by the remapped
    /// ids, so the setuid newuidmap would not be root's there).
    static let plain = Task<PodStandIn, any Error> { try await start(userNamespaceRemap: false) }

    private static func start(userNamespaceRemap: Bool) async throws -> PodStandIn {
        let image = try KilnImageFixture.image()
        let docker = try await PrivateDockerDaemon.start(userNamespaceRemap: userNamespaceRemap)
        docker.stopAtExit()
        let loaded = try docker.docker(["load", "-i", image.dockerArchive.path])
        guard loaded.status == 0 else {
            throw PodStandInError(description: "docker load of the Kiln image failed: \(loaded.stderr)\n\(docker.log().suffix(2000))")
        }
        return PodStandIn(docker: docker, image: image)
    }

    /// False only when dockerd itself could not start here (why goes to standard error); a
    /// failure to make or load the image fails the tests instead.
    static func starts() async -> Bool {
        do {
            _ = try await shared.value
            return true
        } catch let error as PrivateDaemonError {
            FileHandle.standardError.write(Data("PodStandIn: \(error)\n".utf8))
            return false
        } catch {
            return true
        }
    }
}

/// The stand-in could not be made.
struct PodStandInError: Error, CustomStringConvertible {
    let description: String
}
