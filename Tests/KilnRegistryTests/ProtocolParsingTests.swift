import Foundation
import Testing

@testable import KilnRegistry

@Suite("Header parsing and retry arithmetic")
struct ProtocolParsingTests {
    @Test("Bearer challenges yield realm, service and scopes")
    func bearerChallenge() throws {
        let challenge = try #require(AuthChallenge(parsing:
            #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push repository:c:pull""#))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.realm == "https://auth.example/token")
        #expect(challenge.service == "registry.example")
        #expect(challenge.scopes == ["repository:a/b:pull,push", "repository:c:pull"])
    }

    @Test("Basic challenges, unquoted values, escapes and error params parse")
    func otherChallenges() throws {
        let basic = try #require(AuthChallenge(parsing: #"Basic realm="kiln \"test\"""#))
        #expect(basic.scheme == "basic")
        #expect(basic.realm == #"kiln "test""#)
        let unquoted = try #require(AuthChallenge(parsing: #"bearer realm=http://127.0.0.1:1/t, error="insufficient_scope""#))
        #expect(unquoted.realm == "http://127.0.0.1:1/t")
        #expect(unquoted.parameters["error"] == "insufficient_scope")
        #expect(AuthChallenge(parsing: "   ") == nil)
    }

    @Test("Link headers give the next page")
    func links() {
        #expect(RegistryClient.nextLink(#"</v2/a/tags/list?last=b&n=2>; rel="next""#) == "/v2/a/tags/list?last=b&n=2")
        #expect(RegistryClient.nextLink(#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#) == "https://x/next")
        #expect(RegistryClient.nextLink(nil) == nil)
        #expect(RegistryClient.nextLink(#"<https://x/prev>; rel="prev""#) == nil)
    }

    @Test("Content-Range gives where a partial response starts")
    func contentRange() {
        #expect(RegistryClient.rangeStart("bytes 100-199/200") == 100)
        #expect(RegistryClient.rangeStart("bytes=0-9") == 0)
        #expect(RegistryClient.rangeStart("items 1-2") == nil)
        #expect(RegistryClient.rangeStart(nil) == nil)
    }

    @Test("Back-off grows exponentially within the cap, jitter only shortens it")
    func backOff() {
        let policy = RetryPolicy(maximumAttempts: 6, initialDelay: .milliseconds(100), maximumDelay: .seconds(1), jitter: 0.5)
        for attempt in 1...5 {
            let ceiling = min(Duration.milliseconds(100) * (1 << (attempt - 1)), .seconds(1))
            let delay = policy.delay(after: attempt)
            #expect(delay <= ceiling)
            #expect(delay >= ceiling / 2)
        }
        #expect(policy.allowsRetry(after: 5))
        #expect(!policy.allowsRetry(after: 6))
        #expect(!RetryPolicy.none.allowsRetry(after: 1))
        #expect(policy.delay(after: 1, retryAfter: .seconds(30)) == .seconds(1))
        #expect(policy.delay(after: 1, retryAfter: .milliseconds(300)) == .milliseconds(300))
    }

    @Test("Retry-After takes seconds or an HTTP date")
    func retryAfter() {
        #expect(RetryPolicy.retryAfter("7") == .seconds(7))
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(RetryPolicy.retryAfter("Tue, 14 Nov 2023 22:13:30 GMT", now: now) == .seconds(10))
        #expect(RetryPolicy.retryAfter("soon") == nil)
        #expect(RetryPolicy.retryAfter(nil) == nil)
    }

    @Test("Errors name registry, repository, operation, status and the registry's codes")
    func errorText() {
        let error = RegistryError(
            .denied, registry: "r.example", repository: "team/app", operation: .pushManifest, status: 403,
            details: [RegistryErrorDetail(code: "DENIED", message: "requested access to the resource is denied")])
        #expect(error.description
            == "r.example/team/app: push manifest failed: access denied (HTTP 403): DENIED: requested access to the resource is denied")
    }
}
