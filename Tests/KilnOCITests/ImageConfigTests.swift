import Foundation
import KilnOCI
import Testing

@Suite struct ImageConfigTests {
    static let diffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

    @Test func minimalConfigOmitsEverythingOptional() throws {
        let config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"))
        #expect(String(decoding: try CanonicalJSON.encode(config), as: UTF8.self)
            == #"{"architecture":"amd64","os":"linux","rootfs":{"diff_ids":[],"type":"layers"}}"#)
    }

    @Test func portsAndVolumesAreObjectsOfEmptyObjects() throws {
        var config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"))
        config.config.exposedPorts = ["8080/tcp", "53/udp"]
        config.config.volumes = ["/data"]
        let text = String(decoding: try CanonicalJSON.encode(config), as: UTF8.self)
        #expect(text.contains(#""config":{"ExposedPorts":{"53/udp":{},"8080/tcp":{}},"Volumes":{"/data":{}}}"#))
    }

    /// Docker stores durations as Go `time.Duration`: integer nanoseconds.
    @Test func healthcheckDurationsAreNanoseconds() throws {
        let check = Healthcheck(test: ["CMD", "true"], interval: .seconds(30), timeout: .milliseconds(1500),
                                startPeriod: .seconds(0), startInterval: .nanoseconds(7), retries: 3)
        #expect(String(decoding: try CanonicalJSON.encode(check), as: UTF8.self)
            == #"{"Interval":30000000000,"Retries":3,"StartInterval":7,"Test":["CMD","true"],"Timeout":1500000000}"#)
        let docker = #"{"Test":["CMD-SHELL","curl -f http://localhost/"],"Interval":5000000000,"Timeout":3000000000,"StartPeriod":0,"Retries":2}"#
        let decoded = try CanonicalJSON.decode(Healthcheck.self, from: Data(docker.utf8))
        #expect(decoded.interval == .seconds(5))
        #expect(decoded.timeout == .seconds(3))
        #expect(decoded.retries == 2)
        #expect(decoded.test == ["CMD-SHELL", "curl -f http://localhost/"])
    }

    @Test func dockerConfigKeepsWhatKilnUses() throws {
        let docker = """
            {"architecture":"amd64","os":"linux","docker_version":"24.0.7","container_config":{"Hostname":"x"},
             "config":{"Hostname":"","User":"app","Env":["A=1"],"Cmd":null,"Entrypoint":["/init"],"Volumes":null,
                       "OnBuild":["RUN true"],"Shell":["/bin/bash","-c"],"Labels":{},"ArgsEscaped":true,
                       "Healthcheck":{"Test":["NONE"]},"StopSignal":"SIGQUIT"},
             "rootfs":{"type":"layers","diff_ids":["\(Self.diffID)"]},
             "history":[{"created":"2024-01-01T00:00:00Z","created_by":"RUN x","empty_layer":false}]}
            """
        let config = try ImageConfig(validating: Data(docker.utf8))
        #expect(config.config.user == "app")
        #expect(config.config.cmd.isEmpty)
        #expect(config.config.entrypoint == ["/init"])
        #expect(config.config.onBuild == ["RUN true"])
        #expect(config.config.shell == ["/bin/bash", "-c"])
        #expect(config.config.argsEscaped)
        #expect(config.config.healthcheck?.test == ["NONE"])
        #expect(config.config.stopSignal == "SIGQUIT")
        #expect(config.history.first?.emptyLayer == false)
        #expect(!String(decoding: try CanonicalJSON.encode(config), as: UTF8.self).contains("empty_layer"))
    }

    @Test(arguments: ["foo", "=value", "A=multi\nline"])
    func envEntriesMustBeKeyValue(_ entry: String) {
        var config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"))
        config.config.env = ["OK=1", entry]
        #expect(throws: ValidationError(field: "config.Env[1]", reason: "\"\(entry)\" is not KEY=value")) {
            try config.validate()
        }
    }

    @Test(arguments: ["2015-10-31T22:22:56.015925234Z", "2023-01-02T03:04:05+01:00", "0001-01-01T00:00:00Z"])
    func acceptsRFC3339(_ text: String) { #expect(RFC3339.isValid(text)) }

    @Test(arguments: ["2015-10-31 22:22:56Z", "2015-10-31T22:22:56", "yesterday", "2015-13-01T00:00:00Z", "2015-10-31T22:22:56.Z"])
    func rejectsNonRFC3339(_ text: String) { #expect(!RFC3339.isValid(text)) }

    @Test func writesWholeSecondUTCTimestamps() {
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1_700_000_000.75)) == "2023-11-14T22:13:20Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
    }

    @Test func validationErrorsNameTheField() throws {
        var manifest = Manifest(config: Descriptor(mediaType: .ociConfig, digest: Digest.sha256(of: [UInt8]()), size: 0),
                                layers: [Descriptor(mediaType: .ociLayer, digest: Digest.sha256(of: [UInt8]()), size: 0)])
        manifest.layers[0].urls = ["no scheme"]
        #expect(throws: ValidationError(field: "layers[0].urls[0]", reason: "\"no scheme\" is not a URI")) {
            try manifest.validate()
        }
        let bad = #"{"schemaVersion":2,"config":{"mediaType":"a/b","size":"1","digest":"\#(Self.diffID)"},"layers":[]}"#
        #expect(throws: DocumentError.malformed("config.size: expected Int64")) { try Manifest(validating: Data(bad.utf8)) }
    }
}
