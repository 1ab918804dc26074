import Foundation

/// Runs the package's real executables, as a user would.
struct ProgramRun {
    var status: Int32
    var output: String
    var errors: String
}

enum Programs {
    /// The build folder holding the test bundle also holds `listen` and `assistd`.
    static let folder: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("listen").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url
    }()

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        repository.appendingPathComponent("Tests/ImagingTests/Fixtures/\(name)").path
    }

    /// Runs a program of this build to completion with no standard input; `environment` is added
    /// to (or overrides) the test's own.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProgramRun {
        try run(executable: folder.appendingPathComponent(name), arguments, environment: environment)
    }

    /// Runs any executable to completion in the repository, with no standard input.
    static func run(executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> ProgramRun {
        let process = try start(executable: executable, arguments, environment: environment)
        let output = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        let errors = (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProgramRun(
            status: process.terminationStatus,
            output: String(decoding: output, as: UTF8.self),
            errors: String(decoding: errors, as: UTF8.self))
    }

    static func start(_ name: String, _ arguments: [String]) throws -> Process {
        try start(executable: folder.appendingPathComponent(name), arguments)
    }

    static func start(executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        }
        process.currentDirectoryURL = repository
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        return process
    }
}
