/// Whether video is used in a call, as the owning veileder's page reports it
/// (`call-media {video}`). The server keeps it only as the reason of a
/// `room.media` audit entry, from which the anonymous figures count video
/// and sound-only calls; this type is the one place that spells it.
public enum CallMedia: String, Sendable, Equatable {
    case video = "video"
    case soundOnly = "sound only"

    public init(video: Bool) { self = video ? .video : .soundOnly }

    /// The audit entry's reason.
    public var auditReason: String { rawValue }

    /// Read back from a `room.media` entry's reason.
    public init?(auditReason: String?) {
        guard let auditReason, let media = CallMedia(rawValue: auditReason) else { return nil }
        self = media
    }
}
