/// The languages of the pages, and of everything the server writes for
/// people to read (invitations, calendar files, the figures' labels):
/// Bokmål and English.
public enum Language: String, Sendable, CaseIterable {
    case nb, en
}
