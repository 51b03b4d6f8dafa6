import Foundation
import KilnTestSupport

/// The stand-in for a cluster that ``PodStandInTests`` share: one private dockerd with
/// `--userns-remap` and Kiln's own image loaded into it, made on first use and stopped when the
/// test process exits (one daemon and one `docker load` for the suite: vfs makes both slow).
struct PodStandIn: Sendable {
    let docker: PrivateDockerDaemon
    let image: KilnImageFixture.Image

    static let shared = Task<PodStandIn, any Error> {
        let image = try KilnImageFixture.image()
        let docker = try await PrivateDockerDaemon.start(userNamespaceRemap: true)
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
