import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into cancellation of one task, so that a build interrupted by
/// Ctrl-C deletes its containers, unmounts and removes its temp dirs on the way out.
final class SignalCancellation {
    private let sources: [any DispatchSourceSignal]

    init<T: Sendable>(cancelling task: Task<T, any Error>) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                StandardError.write("\ninterrupted: cleaning up\n")
                task.cancel()
            }
            source.resume()
            return source
        }
    }

    /// Stops listening and restores the default handlers.
    func stop() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
