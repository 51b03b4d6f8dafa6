import KilnConcurrency
import KilnDistribution
import KilnImage
import KilnOCI
import Synchronization

/// Upload durations by layer digest, written by the uploads as they end.
private final class UploadTimes: Sendable {
    private let seconds = Mutex<[Digest: Double]>([:])

    func record(_ digest: Digest, seconds: Double) { self.seconds.withLock { $0[digest] = seconds } }

    var all: [Digest: Double] { seconds.withLock { $0 } }
}

/// Where a build pushes its layers while it runs: the registry outputs' references, how to
/// push, and what may be mounted instead of uploaded.
public struct LayerPushTarget: Sendable {
    /// How blobs are pushed.
    public var publisher: any ImagePublisher
    /// Every reference a registry output will push the image as; each repository gets every layer.
    public var references: [Reference]
    /// Repositories that may hold a layer already (the registry caches).
    public var mountFrom: [Reference]
    /// At most this many layers are pushed at once.
    public var concurrentUploads: Int

    /// A target pushing to `references` with `publisher`, `concurrentUploads` layers at a time.
    public init(publisher: any ImagePublisher, references: [Reference], mountFrom: [Reference] = [], concurrentUploads: Int = 4) {
        self.publisher = publisher
        self.references = references
        self.mountFrom = mountFrom
        self.concurrentUploads = concurrentUploads
    }
}

/// One build's layer uploads: each layer the build hands it (``BuildSession/pushEarly(_:of:)``
/// decides which) is pushed to the target's repositories at once, while later steps run, at most
/// ``LayerPushTarget/concurrentUploads`` at a time, each blob once. It never pushes a manifest:
/// the exporter waits for it (``finish()``) and then pushes the image, so the tag comes last and a
/// failed build leaves no tag, only blobs nothing references (which a registry's garbage
/// collector removes).
///
/// An upload that fails is reported as a warning and left to the exporter, whose push finds the
/// blob missing and pushes it as it would have without this pipeline.
public actor LayerUploadPipeline {
    private struct Job: Sendable {
        var layer: any Layer
        var mountFrom: [Reference]
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let uploads: Task<Void, Never>
    private var offered: Set<Digest> = []
    private let times = UploadTimes()

    /// A pipeline pushing to `target`, reporting each finished transfer and each failure to `events`.
    public init(target: LayerPushTarget, events: @escaping BuildEventSink) {
        let (stream, continuation) = AsyncStream.makeStream(of: Job.self)
        jobs = continuation
        let times = self.times
        uploads = Task {
            await forEachConcurrently(stream, limit: target.concurrentUploads) { job in
                let digest = job.layer.descriptor.digest
                do {
                    let started = ContinuousClock.now
                    try await target.publisher.publishLayer(job.layer, to: target.references,
                                                         mountFrom: target.mountFrom + job.mountFrom) {
                        events(.transfer(nil, $0))
                    }
                    times.record(digest, seconds: (ContinuousClock.now - started).seconds)
                } catch is CancellationError {
                } catch {
                    events(.warning("pushing layer \(digest) while building failed (\(error)); it is pushed again with the image"))
                }
            }
        }
    }

    deinit {
        uploads.cancel()
    }

    /// Starts pushing `layer` (unless it was offered before), offering `mountFrom` (its base
    /// image's repository) as sources besides the target's own.
    func push(_ layer: any Layer, mountFrom: [Reference]) {
        guard offered.insert(layer.descriptor.digest).inserted else { return }
        jobs.yield(Job(layer: layer, mountFrom: mountFrom))
    }

    /// How long each layer pushed while building took to upload (a blob the registry already
    /// had, or could mount, takes the one request that found it), by layer digest.
    public nonisolated var uploadSeconds: [Digest: Double] { times.all }

    /// Takes no more layers and returns when every upload started has ended.
    public func finish() async {
        jobs.finish()
        await uploads.value
    }

    /// Stops every upload (the build failed), without waiting for them to wind down: what was
    /// uploaded stays an untagged blob.
    public nonisolated func cancel() {
        jobs.finish()
        uploads.cancel()
    }
}
