import Foundation
import Testing
@testable import KilnStorage

/// Records that something happened.
actor Flag {
    private(set) var isSet = false
    func set() { isSet = true }
}

@Suite struct FileLockTests {
    @Test func exclusiveLocksOnOnePathExcludeEachOther() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.path + "/chain.lock"
            let first = try FileLock(path: path, exclusive: true)
            let acquired = Flag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Its own descriptor: excluded exactly as another process would be.
                    try await withFileLock(path: path, exclusive: true) { await acquired.set() }
                }
                try await Task.sleep(for: .milliseconds(200))
                #expect(await !acquired.isSet)
                first.unlock()
                try await group.waitForAll()
            }
            #expect(await acquired.isSet)
        }
    }

    @Test func sharedLocksCoexist() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.path + "/blobs.lock"
            let first = try FileLock(path: path, exclusive: false)
            let second = try await withFileLock(path: path, exclusive: false) { await Task.yield(); return 42 }
            #expect(second == 42)
            first.unlock()
        }
    }
}
