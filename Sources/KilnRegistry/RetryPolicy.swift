import Foundation

/// How often and how patiently to retry a request that failed in a way that may pass: a broken
/// connection, a 5xx, or a 429.
///
/// Delays grow exponentially from `initialDelay`, capped at `maximumDelay`, and each is scaled by
/// a random factor in `[1 - jitter, 1]` so that many builders retrying at once spread out instead
/// of hammering the registry in lockstep.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included; 1 disables retries.
    public var maximumAttempts: Int
    /// The delay before the first retry.
    public var initialDelay: Duration
    /// The longest delay between two attempts, also the cap on a server's `Retry-After`.
    public var maximumDelay: Duration
    /// The fraction of each delay that is randomised, 0...1.
    public var jitter: Double

    /// Creates a policy.
    public init(maximumAttempts: Int, initialDelay: Duration, maximumDelay: Duration, jitter: Double = 0.5) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.jitter = min(1, max(0, jitter))
    }

    /// Five attempts, 250 ms doubling up to 8 s: rides out a registry restart without stalling a build for long.
    public static let standard = RetryPolicy(maximumAttempts: 5, initialDelay: .milliseconds(250), maximumDelay: .seconds(8))

    /// One attempt, no retries.
    public static let none = RetryPolicy(maximumAttempts: 1, initialDelay: .zero, maximumDelay: .zero)

    /// Whether another attempt follows attempt number `attempt` (1-based).
    public func allowsRetry(after attempt: Int) -> Bool { attempt < maximumAttempts }

    /// The pause before the attempt after `attempt` (1-based). A server's `Retry-After` wins over
    /// the computed back-off, within `maximumDelay`.
    public func delay(after attempt: Int, retryAfter: Duration? = nil) -> Duration {
        if let retryAfter { return min(retryAfter, maximumDelay) }
        let exponent = min(max(attempt - 1, 0), 30)
        let base = min(initialDelay * (1 << exponent), maximumDelay)
        let factor = 1 - jitter * Double.random(in: 0...1)
        return base * factor
    }

    /// The `Retry-After` header's delay: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
    public static func retryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int(value) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(max(0, Int64(date.timeIntervalSince(now) * 1000)))
    }
}
