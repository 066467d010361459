// TokenKeepLogging: the core's log records in a Swift app.
//
// The core logs what happens to tokens (a failed refresh is a warning,
// tokens that could not be stored an error; never a token). Call
// `TokenKeepLogging.install()` once at start-up; each record at `maxLevel`
// or above then goes to `TokenKeepLogging.handler`: by default
// `os.Logger(subsystem: "dev.tokenkeep", category: <core module>)` on Apple
// platforms (ERROR -> .error, WARN -> .default, INFO -> .info, DEBUG and
// TRACE -> .debug; the text is public: it holds no secret) and elsewhere a
// line on stderr for WARN and above. Set `handler` to send records anywhere
// else (swift-log, a file, a test). The core filters by level before
// crossing, so lower levels cost nothing; the handler runs on the core's
// event thread, never on a thread that refreshes.

import Foundation
#if canImport(os)
import os
#endif

/// Hands the core's log records to the app's logging.
public enum TokenKeepLogging {
    /// Receives each record the core passes on, on the core's event thread.
    public typealias Handler = @Sendable (LogRecord) -> Void

    /// The subsystem (Apple) and prefix of tokenkeep's records.
    public static let subsystem = "dev.tokenkeep"

    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: Handler = defaultHandler // guarded by lock

    /// Where records go; by default `defaultHandler`. Safe to set from any thread.
    public static var handler: Handler {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    /// Starts passing the core's records at `maxLevel` and above to
    /// `handler`; false when the process already has another tracing
    /// subscriber in the core.
    @discardableResult
    public static func install(maxLevel: LogLevel = .warn) -> Bool {
        setLogSink(sink: Sink(), maxLevel: maxLevel)
    }

    /// Changes the most verbose level the core passes on.
    public static func setMaxLevel(_ level: LogLevel) { setLogLevel(maxLevel: level) }

    /// Stops passing records on.
    public static func uninstall() { clearLogSink() }

    /// `message (key=value ...)`: the record's message and its fields.
    public static func text(of record: LogRecord) -> String {
        record.fields.isEmpty ? record.message : "\(record.message) (\(record.fields))"
    }

    #if canImport(os)
    /// os.Logger, subsystem "dev.tokenkeep", category the core's module.
    public static let defaultHandler: Handler = { record in
        let types: [LogLevel: OSLogType] = [.error: .error, .warn: .default, .info: .info]
        Logger(subsystem: subsystem, category: record.target)
            .log(level: types[record.level] ?? .debug, "\(text(of: record), privacy: .public)")
    }
    #else
    /// A line on stderr for WARN and above; the rest is dropped.
    public static let defaultHandler: Handler = { record in
        guard let label = [LogLevel.error: "ERROR", .warn: "WARN"][record.level] else { return }
        FileHandle.standardError.write(Data("[\(subsystem)] \(label) \(record.target): \(text(of: record))\n".utf8))
    }
    #endif

    /// The core's sink: calls the current handler.
    private final class Sink: LogSink {
        func log(record: LogRecord) { TokenKeepLogging.handler(record) }
    }
}
