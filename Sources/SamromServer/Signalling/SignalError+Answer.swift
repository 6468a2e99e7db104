import Logging
import SamromCore

extension SignalError {
    /// What a client is told when handling its frame failed: the error itself
    /// when it is a protocol error, otherwise `internal` (and the error's type,
    /// never its content, goes to the log).
    init(answering error: any Error, logger: Logger) {
        if let error = error as? SignalError {
            self = error
        } else {
            logger.error("signalling failed", metadata: ["error.type": "\(type(of: error))"])
            self = SignalError(.internalError, "something went wrong on the server")
        }
    }
}
