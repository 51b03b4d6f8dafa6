import Testing
@testable import KilnDockerfile

@Suite struct StageTests {
    private func dockerfile(_ text: String) throws -> Dockerfile { try Dockerfile(parsing: text) }

    private func error(_ text: String, options: BuildOptions = BuildOptions()) -> String? {
        do {
            _ = try Dockerfile(parsing: text).plan(options)
            return nil
        } catch {
            return error.rendered(fileName: "Dockerfile")
        }
    }

    @Test func groupsGlobalArgsAndStages() throws {
        let file = try dockerfile("""
            ARG BASE=alpine
            FROM $BASE AS Builder
            RUN make
            FROM scratch
            COPY --from=builder /out /
            """)
        #expect(file.globalArgs.map { $0.arguments.map(\.name) } == [["BASE"]])
        #expect(file.stages.count == 2)
        #expect(file.stages[0].name == "builder")
        #expect(file.stages[0].base == .image("alpine"))
        #expect(file.stages[0].instructions.count == 1)
        #expect(file.stages[1].base == .scratch)
        #expect(file.stages[1].displayName == "1")
    }

    @Test func baseCanBeAnEarlierStageCaseInsensitively() throws {
        let file = try dockerfile("FROM alpine AS base\nFROM BASE AS child\nFROM later\nFROM alpine AS later")
        #expect(file.stages[1].base == .stage(0))
        // Only earlier stages count: a later stage's name is an image reference, as in BuildKit.
        #expect(file.stages[2].base == .image("later"))
    }

    @Test func duplicateStageName() {
        #expect(error("FROM a AS x\nFROM b AS X") == """
            Dockerfile:2:11: error: duplicate stage name "x"
             2 | FROM b AS X
               |           ^
            """)
    }

    @Test func errorsPointIntoContinuationLines() {
        #expect(error("FROM a\nCOPY --link \\\n  --chwon=app a b") == """
            Dockerfile:3:3: error: unknown flag: --chwon (did you mean --chown?)
             3 |   --chwon=app a b
               |   ^
            """)
        #expect(error("FROM a\nruun true") == """
            Dockerfile:2:1: error: unknown instruction: RUUN (did you mean RUN?)
             2 | ruun true
               | ^
            """)
    }

    @Test func reservedStageNamesWarn() throws {
        let file = try dockerfile("FROM a AS context\nFROM b")
        #expect(file.warnings.map(\.description) == ["1:11: warning: 'context' is reserved and should not be used as a stage name"])
    }

    @Test func platformIsExpandedAndChecked() throws {
        #expect(try dockerfile("ARG P=linux/arm64\nFROM --platform=$P a").plan().stages[0].platform == "linux/arm64")
        #expect(error("FROM --platform=linux//x a")?.hasPrefix(#"Dockerfile:1:6: error: failed to parse platform "linux//x""#) == true)
    }

    @Test func instructionBeforeFrom() {
        #expect(error("ARG A\nRUN true\nFROM a")?.hasPrefix("Dockerfile:2:1: error: no build stage in current context") == true)
    }

    @Test func fileWithoutStages() {
        #expect(error("ARG A=1")?.hasPrefix("Dockerfile:1:1: error: dockerfile contains no stages to build") == true)
    }

    @Test func copyFromByNameIndexOrImage() throws {
        let plan = try dockerfile("""
            FROM alpine AS one
            FROM alpine AS two
            FROM scratch
            COPY --from=one /a /a
            COPY --from=1 /b /b
            COPY --from=busybox:latest /bin/sh /sh
            RUN --mount=from=two,target=/t true
            """).plan()
        let last = try #require(plan.stages.last)
        #expect(last.instructions.map(\.sources) == [[.stage(0)], [.stage(1)], [.image("busybox:latest")], [.stage(1)]])
        #expect(last.dependencies == [0, 1])
        #expect(plan.stages.map(\.index) == [0, 1, 2])
    }

    @Test func copyFromUnknownIndex() {
        #expect(error("FROM a\nCOPY --from=3 x y")?.hasPrefix(
            "Dockerfile:2:6: error: invalid stage index 3: the Dockerfile has 1 stage") == true)
    }

    @Test func copyFromExpandsGlobalArgs() throws {
        let plan = try dockerfile("ARG SRC=one\nFROM alpine AS one\nFROM scratch\nCOPY --from=$SRC /a /a").plan()
        guard case .copy(let copy) = plan.stages.last?.instructions.first?.instruction else { Issue.record(); return }
        #expect(copy.from == "one")
        #expect(plan.stages.last?.dependencies == [0])
    }

    @Test func cyclesAreRejected() {
        #expect(error("FROM a AS x\nCOPY --from=y / /\nFROM b AS y\nCOPY --from=x / /") == """
            Dockerfile:1:1: error: circular dependency detected on stage: x
             1 | FROM a AS x
               | ^
            """)
        #expect(error("FROM a AS self\nCOPY --from=self / /")?.hasPrefix("Dockerfile:1:1: error: circular dependency detected on stage: self") == true)
    }

    @Test func targetSelectsOnlyNeededStagesInDependencyOrder() throws {
        let file = try dockerfile("""
            FROM alpine AS deps
            FROM alpine AS unused
            FROM golang AS build
            COPY --from=tools /t /t
            FROM deps AS final
            COPY --from=build /app /app
            FROM alpine AS tools
            """)
        #expect(try file.plan(BuildOptions(target: "final")).stages.map(\.index) == [0, 4, 2, 3])
        #expect(try file.plan(BuildOptions(target: "BUILD")).stages.map(\.index) == [4, 2])
        #expect(try file.plan().stages.map(\.index) == [4])
    }

    @Test func unknownTargetListsStages() {
        #expect(error("FROM a AS build\nFROM b AS test", options: BuildOptions(target: "tset")) ==
            #"Dockerfile: error: target stage "tset" could not be found (available stages: build, test) (did you mean test?)"#)
    }

    @Test func stageGraphOrderIsStable() throws {
        let graph = try StageGraph(dependencies: [[], [], [0, 1], [2]], names: ["a", "b", "c", "d"],
                                   locations: Array(repeating: SourceLocation(line: 1, column: 1), count: 4))
        #expect(graph.buildOrder(for: 3) == [0, 1, 2, 3])
        #expect(graph.buildOrder(for: 1) == [1])
    }
}
