import Foundation

/// The words of an invitation or a reminder, for an e-mail, an SMS or a
/// calendar file. They say only that a conversation is booked, when, how
/// long, and (when the veileder includes it) the link: never the title or
/// anything about what the conversation is about. One place writes them, so
/// the e-mail, the SMS and the calendar file cannot drift apart.
public struct Invitation: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case invitation, reminder
    }

    public var kind: Kind
    /// Whom the link is for: a deltaker or a tolk.
    public var role: ParticipantRole
    public var booking: Booking
    /// The join link, when the veileder includes it; otherwise the text
    /// refers to the link the person already has.
    public var joinURL: String?
    /// How long before the start the lobby opens, in minutes.
    public var lobbyWindowMinutes: Int
    public var language: Language

    public init(
        kind: Kind, role: ParticipantRole, booking: Booking, joinURL: String?, lobbyWindowMinutes: Int, language: Language
    ) {
        self.kind = kind
        self.role = role
        self.booking = booking
        self.joinURL = joinURL
        self.lobbyWindowMinutes = lobbyWindowMinutes
        self.language = language
    }

    public func subject(_ time: SpokenTime) -> String {
        let when = time.moment(booking.startsAt, language)
        switch (language, kind) {
        case (.nb, .invitation): return "Avtalt samtale \(when)"
        case (.nb, .reminder): return "Påminnelse: samtale \(when)"
        case (.en, .invitation): return "Your appointment on \(when)"
        case (.en, .reminder): return "Reminder: your appointment on \(when)"
        }
    }

    /// A short text to send as an SMS (one or two messages).
    public func sms(_ time: SpokenTime) -> String {
        let when = time.moment(booking.startsAt, language)
        switch language {
        case .nb:
            let lead = kind == .reminder ? "Påminnelse: du" : "Du"
            let what = role == .tolk ? "er bestilt som tolk til en videosamtale" : "har en avtalt videosamtale"
            let link = joinURL.map { " Åpne lenken litt før: \($0)" } ?? " Bruk lenken du har fått."
            return "\(lead) \(what) \(when) (\(booking.minutes) min).\(link)"
        case .en:
            let lead = kind == .reminder ? "Reminder: you" : "You"
            let what = role == .tolk ? "are booked as interpreter for a video call" : "have a video appointment"
            let link = joinURL.map { " Open this link a little before: \($0)" } ?? " Use the link you were given."
            return "\(lead) \(what) on \(when) (\(booking.minutes) min).\(link)"
        }
    }

    /// The e-mail's plain text; also the calendar file's description.
    public func body(_ time: SpokenTime) -> String {
        let when = time.moment(booking.startsAt, language)
        let zone = time.timeZone.identifier
        switch language {
        case .nb:
            var lines = ["Hei,", ""]
            if kind == .reminder { lines.append("Dette er en påminnelse.") }
            lines.append(
                (role == .tolk ? "Du er bestilt som tolk til en videosamtale" : "Du har en avtalt videosamtale")
                    + " \(when) (tid i \(zone)). Den varer omtrent \(booking.minutes) minutter.")
            lines.append("")
            if let joinURL {
                lines += ["Åpne denne lenken på mobil eller datamaskin litt før samtalen begynner:", joinURL, ""]
                lines.append("Lenken er personlig. Ikke del den med andre.")
            } else {
                lines.append("Bruk lenken du har fått til samtalen.")
            }
            lines += [
                "Du kan sjekke kamera og mikrofon før du går inn. Venterommet åpner \(lobbyWindowMinutes) minutter før.",
                "", "Denne meldingen er sendt automatisk. Ikke svar på den.",
            ]
            return lines.joined(separator: "\n")
        case .en:
            var lines = ["Hello,", ""]
            if kind == .reminder { lines.append("This is a reminder.") }
            lines.append(
                (role == .tolk ? "You are booked as interpreter for a video call" : "You have a video appointment")
                    + " on \(when) (\(zone) time). It lasts about \(booking.minutes) minutes.")
            lines.append("")
            if let joinURL {
                lines += ["Open this link on a phone or computer a little before it starts:", joinURL, ""]
                lines.append("The link is personal. Do not share it.")
            } else {
                lines.append("Use the link you were given for the appointment.")
            }
            lines += [
                "You can check your camera and microphone before you go in. The waiting room opens \(lobbyWindowMinutes) minutes before.",
                "", "This message was sent automatically. Please do not reply.",
            ]
            return lines.joined(separator: "\n")
        }
    }
}
