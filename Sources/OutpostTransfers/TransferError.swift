/// Why a transfer failed: `transient` ones are retried later (the network, a 5xx, a full disk); `permanent` ones end
/// the job with `code` as its BOINC error (a wrong MD5 or signature, a 404, an output over `max_nbytes`).
public struct TransferError: Error, Sendable, CustomStringConvertible {
    public var permanent: Bool
    /// BOINC's error number for the report (`lib/error_numbers.h`).
    public var code: Int64
    public var message: String

    public init(permanent: Bool, code: Int64, message: String) {
        self.permanent = permanent
        self.code = code
        self.message = message
    }

    public static func transient(_ message: String) -> TransferError {
        TransferError(permanent: false, code: -182, message: message)
    }

    public var description: String { message }
}
