import Foundation

/// The answer to "may this instance run this consultation's call?" (issue
/// 14). One instance at a time holds a call's home, under a lease it renews;
/// an epoch that grows with every new holder fences out a holder that lost
/// its lease without noticing.
public enum HomeClaim: Sendable, Equatable {
    /// This holder has the home, with this epoch. `takenOver` when it took it
    /// from another holder (whose lease had run out, or an earlier run of the
    /// same instance): the call's stored seats are to be restored.
    case held(epoch: Int64, takenOver: Bool)
    /// Another holder has it until `leaseUntil`: clients go to `instance`.
    case elsewhere(instance: String, leaseUntil: Date)
}

/// A call's home as the store keeps it; an empty `holder` means released.
/// The one place that decides what a claim makes of it: both stores read
/// the row under a lock, ask `claimed`, and write what it says.
public struct StoredHome: Sendable, Equatable {
    public var instance: String
    public var holder: String
    public var epoch: Int64
    public var leaseUntil: Date

    public init(instance: String, holder: String, epoch: Int64, leaseUntil: Date) {
        self.instance = instance
        self.holder = holder
        self.epoch = epoch
        self.leaseUntil = leaseUntil
    }

    /// What a claim by `holder` (of instance `instance`) makes of this home:
    /// released → held with the next epoch; the same holder → renewed with
    /// its epoch (even if its lease ran out); lease run out, or an earlier
    /// run of the same instance → taken over with the next epoch; otherwise
    /// elsewhere. Epochs only grow, so a stale holder is always fenced out.
    public func claimed(byInstance instance: String, holder: String, now: Date) -> HomeClaim {
        if self.holder.isEmpty { return .held(epoch: epoch + 1, takenOver: false) }
        if self.holder == holder { return .held(epoch: epoch, takenOver: false) }
        if leaseUntil <= now || self.instance == instance { return .held(epoch: epoch + 1, takenOver: true) }
        return .elsewhere(instance: self.instance, leaseUntil: leaseUntil)
    }
}

/// A seat in a call as the store keeps it, so that whoever holds the home
/// next can take the call over: who, in which role, the hash of the resume
/// token that brings them back, and the last key id they announced (chat
/// copies may be addressed to it). No connection, no address, no name.
public struct StoredSeat: Sendable, Equatable {
    public var participant: ParticipantID
    public var role: ParticipantRole
    public var resume: TokenHash
    public var lastKeyId: String?

    public init(participant: ParticipantID, role: ParticipantRole, resume: TokenHash, lastKeyId: String?) {
        self.participant = participant
        self.role = role
        self.resume = resume
        self.lastKeyId = lastKeyId
    }
}

/// Who is at a call right now, as its home last stored it: for the
/// veileder's overview when the call lives on another instance.
public struct CallPresence: Sendable, Equatable {
    public var waiting: Int
    public var inCall: Int

    public init(waiting: Int, inCall: Int) {
        self.waiting = waiting
        self.inCall = inCall
    }

    public static let nobody = CallPresence(waiting: 0, inCall: 0)
}
