/// The JSON bodies the REST API accepts. They live here, apart from the
/// HTTP layer, so that the decoder can be fuzzed on its own and the OpenAPI
/// description (docs/openapi.yaml) has one place to be checked against.
public enum APIRequests {
    /// `POST /api/session`.
    public struct Login: Decodable, Sendable {
        public let username: String
        public let password: String
    }

    /// `POST /api/consultations`.
    public struct CreateConsultation: Decodable, Sendable {
        public let title: String?
        public let validForDays: Int?
        /// A booked time: RFC 3339, with `minutes` (default 30).
        public let startsAt: String?
        public let minutes: Int?
    }

    /// `PUT /api/consultations/{id}/booking`.
    public struct Booking: Decodable, Sendable {
        public let startsAt: String
        public let minutes: Int?
    }

    /// `POST /api/consultations/{id}/calendar.ics`: a calendar file with the
    /// join link the veileder's page still holds.
    public struct Calendar: Decodable, Sendable {
        public let copy: String?
        public let joinUrl: String?
        public let language: String?
    }

    /// `POST /api/consultations/{id}/invitation` (the texts) and
    /// `…/invitation/email` (with `to`, used for sending and never kept).
    public struct Invitation: Decodable, Sendable {
        public let kind: String?
        public let joinUrl: String?
        public let language: String?
        public let to: String?
    }

    /// `POST /api/consultations/{id}/links`.
    public struct NewLink: Decodable, Sendable {
        public let role: String
    }

    /// `POST /api/access-report`: the token comes from the link's fragment
    /// and must never appear in a URL.
    public struct AccessReport: Decodable, Sendable {
        public let token: String
    }

    /// `POST /api/session/second-factor` and `POST /api/me/totp/confirm`.
    public struct SecondFactorCode: Decodable, Sendable {
        public let code: String
    }
}
