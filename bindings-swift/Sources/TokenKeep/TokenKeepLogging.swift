// TokenKeepLogging: the core's log lines in a Swift app.
//
// The core logs what happens to tokens (a failed refresh is a warning,
// tokens that could not be stored an error; never a token). Call
// `TokenKeepLogging.install()` once at start-up; from then on each record at
// `maxLevel` or above goes to `TokenKeepLogging.handler`. By default that is
// `os.Logger(subsystem: "dev.tokenkeep", category: <core module>)` on Apple
// platforms (ERROR -> .error, WARN -> .default, INFO -> .info, DEBUG and
// TRACE -> .debug; the text is marked public: it holds no secret) and,
// elsewhere, a line on stderr for WARN and above. Set `handler` to send
// records anywhere else (swift-log, a file, a test).
//
// Each record that crosses from the core costs a callback, so the core
// filters by level before crossing: `install(maxLevel:)` and
// `setMaxLevel(_:)` say the most verbose level to pass on (default .warn).
// The handler is called on the core's event thread, never on a thread that
// refreshes.

import Foundation
#if canImport(os)
import os
#endif

/// Hands the core's log records to the app's logging.
public enum TokenKeepLogging {
    /// Receives each record the core passes on, on the core's event thread.
    public typealias Handler = @Sendable (LogRecord) -> Void

    /// The subsystem (Apple) and logger name prefix of tokenkeep's records.
    public static let subsystem = "dev.tokenkeep"

    /// Where records go; by default `defaultHandler`. Safe to set from any thread.
    public static var handler: Handler {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    /// Starts passing the core's records at `maxLevel` and above to
    /// `handler`. Returns whether they reach it (`false` only when the
    /// process already has another tracing subscriber in the core).
    @discardableResult
    public static func install(maxLevel: LogLevel = .warn) -> Bool {
        setLogSink(sink: Sink(), maxLevel: maxLevel)
    }

    /// Changes the most verbose level the core passes on.
    public static func setMaxLevel(_ level: LogLevel) {
        setLogLevel(maxLevel: level)
    }

    /// Stops passing records on.
    public static func uninstall() {
        clearLogSink()
    }

    /// `message (key=value ...)`: the record's message and its fields.
    public static func text(of record: LogRecord) -> String {
        record.fields.isEmpty ? record.message : "\(record.message) (\(record.fields))"
    }

    #if canImport(os)
    /// os.Logger, subsystem "dev.tokenkeep", category the core's module.
    public static let defaultHandler: Handler = { record in
        let logger = Logger(subsystem: subsystem, category: record.target)
        let type: OSLogType
        switch record.level {
        case .error: type = .error
        case .warn: type = .default
        case .info: type = .info
        case .debug, .trace: type = .debug
        }
        logger.log(level: type, "\(text(of: record), privacy: .public)")
    }
    #else
    /// A line on stderr for WARN and above; the rest is dropped.
    public static let defaultHandler: Handler = { record in
        let label: String
        switch record.level {
        case .error: label = "ERROR"
        case .warn: label = "WARN"
        case .info, .debug, .trace: return
        }
        FileHandle.standardError.write(Data("[\(subsystem)] \(label) \(record.target): \(text(of: record))\n".utf8))
    }
    #endif

    private static let state = LockedHandler(defaultHandler)

    /// The core's sink: calls the current handler.
    private final class Sink: LogSink {
        func log(record: LogRecord) {
            TokenKeepLogging.handler(record)
        }
    }
}

/// The handler, behind a lock (it is read on the core's thread).
private final class LockedHandler: @unchecked Sendable {
    private let lock = NSLock()
    private var handler: TokenKeepLogging.Handler

    init(_ handler: @escaping TokenKeepLogging.Handler) {
        self.handler = handler
    }

    func withLock<T>(_ body: (inout TokenKeepLogging.Handler) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&handler)
    }
}
