import Foundation
import Sodium

/// Whose calendar file: the veileder's own (with the consultation's title,
/// which the deltaker never sees) or the one the veileder gives the deltaker
/// or tolk (the invitation's words only).
public enum CalendarCopy: String, Sendable, CaseIterable {
    case veileder, deltaker
}

extension CalendarFile {
    /// The calendar file for `copy` of a booked consultation.
    /// - Parameters:
    ///   - joinURL: the join link, included only when the veileder chose to
    ///     (the server never has it otherwise: it keeps only its hash).
    ///   - role: whom the join link is for.
    ///   - overviewURL: where the veileder opens the call (their overview).
    public static func copy(
        _ copy: CalendarCopy, of consultation: Consultation, booking: Booking, joinURL: String?, role: ParticipantRole,
        overviewURL: String, host: String, lobbyWindowMinutes: Int, language: Language, time: SpokenTime, now: Date
    ) -> CalendarFile {
        let invitation = Invitation(
            kind: .invitation, role: role, booking: booking, joinURL: joinURL, lobbyWindowMinutes: lobbyWindowMinutes, language: language)
        let summary: String
        let description: String
        switch copy {
        case .veileder:
            let name = consultation.title ?? (language == .nb ? "Samtale" : "Conversation")
            summary = "\(name) (Samrom)"
            var lines = [
                language == .nb ? "Åpne samtalen fra oversikten din i Samrom:" : "Open the call from your overview in Samrom:", overviewURL,
            ]
            if let joinURL {
                lines += ["", language == .nb ? "Lenken til \(role.rawValue)en:" : "The \(role.rawValue)'s link:", joinURL]
            }
            description = lines.joined(separator: "\n")
        case .deltaker:
            summary = language == .nb ? "Avtalt videosamtale" : "Video appointment"
            description = invitation.body(time)
        }
        return CalendarFile(
            uid: uid(of: consultation.id, host: host), booking: booking, summary: summary, description: description,
            url: joinURL, alarmMinutes: lobbyWindowMinutes, stamp: now)
    }

    /// A keyless BLAKE2b of the id: stable, and not the id itself.
    static func uid(of id: ConsultationID, host: String) -> String {
        let digest = (try? GenericHash.hash(Array("samrom/calendar/v1|\(id.rawValue)".utf8), length: 16)) ?? []
        return Base64URL.encode(digest) + "@" + host
    }
}
