import Foundation
import SamromCore
import Testing

/// `CallStore` on every store the server can use (issue 14): the home of a
/// call (claim, renewal, takeover, fencing by epoch), its stored seats and
/// the route secret. Time is injected: no test waits for a lease.
@Suite(.postgresCluster) struct CallStoreConformanceTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let lease: TimeInterval = 30

    /// `now` plus `seconds`.
    static func at(_ seconds: TimeInterval) -> Date { now.addingTimeInterval(seconds) }

    static func seat(_ role: ParticipantRole, lastKeyId: String? = nil) -> StoredSeat {
        StoredSeat(participant: .random(), role: role, resume: ResumeToken.random().hash, lastKeyId: lastKeyId)
    }

    /// `samrom doctor` compares this machine's clock with the database's,
    /// which leases depend on: PostgreSQL's own, read there; none for SQLite,
    /// which runs in this process.
    @Test(arguments: StoreKind.allCases) func theDatabasesClock(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let time = try await store.databaseTime()
            switch kind {
            case .sqlite:
                #expect(time == nil)
            case .postgres:
                // The same machine's clock, read by the server: within a generous bound on a shared machine.
                let read = try #require(time)
                #expect(abs(read.timeIntervalSinceNow) < 30, "\(read)")
            }
        }
    }

    // MARK: Claims

    @Test(arguments: StoreKind.allCases) func claimRenewRefuseAndTakeOver(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let call = try await Fixture.consultation(in: store, now: Self.now)
            let lease = Self.lease

            // Fresh: epoch 1, nothing taken from anyone.
            #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: lease, now: Self.now)
                == .held(epoch: 1, takenOver: false))
            // The same holder again renews it, with the same epoch, until +40.
            #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: lease, now: Self.at(10))
                == .held(epoch: 1, takenOver: false))
            // Another holder is told where the call is, and until when.
            #expect(try await store.claimHome(call, instance: "b", holder: "b/1", lease: lease, now: Self.at(39.5))
                == .elsewhere(instance: "a", leaseUntil: Self.at(40)))
            // Once the lease has run out (at its very end), it is taken over.
            #expect(try await store.claimHome(call, instance: "b", holder: "b/1", lease: lease, now: Self.at(40))
                == .held(epoch: 2, takenOver: true))
            #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: lease, now: Self.at(41))
                == .elsewhere(instance: "b", leaseUntil: Self.at(70)))
            // A new run of instance b takes it at once, lease or not.
            #expect(try await store.claimHome(call, instance: "b", holder: "b/2", lease: lease, now: Self.at(45))
                == .held(epoch: 3, takenOver: true))
            #expect(try await store.claimHome(call, instance: "b", holder: "b/1", lease: lease, now: Self.at(46))
                == .held(epoch: 4, takenOver: true))
            #expect(try await store.claimHome(call, instance: "a", holder: "a/2", lease: lease, now: Self.at(47))
                == .elsewhere(instance: "b", leaseUntil: Self.at(76)))

            // A consultation that does not exist has no home to claim.
            let missing = await #expect(throws: StorageError.self) {
                try await store.claimHome(.random(), instance: "a", holder: "a/1", lease: lease, now: Self.now)
            }
            #expect(missing?.code == .conflict)
        }
    }

    @Test(arguments: StoreKind.allCases) func renewHomesReturnsTheLostOnes(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let kept = try await Fixture.consultation(in: store, now: Self.now)
            let wrongEpoch = try await Fixture.consultation(in: store, now: Self.now)
            let takenOver = try await Fixture.consultation(in: store, now: Self.now)
            let neverClaimed = try await Fixture.consultation(in: store, now: Self.now)
            for call in [kept, wrongEpoch, takenOver] {
                #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: Self.lease, now: Self.now)
                    == .held(epoch: 1, takenOver: false))
            }
            #expect(try await store.claimHome(takenOver, instance: "a", holder: "a/2", lease: Self.lease, now: Self.at(5))
                == .held(epoch: 2, takenOver: true))

            #expect(try await store.renewHomes([:], holder: "a/1", lease: Self.lease, now: Self.at(10)).isEmpty)
            let lost = try await store.renewHomes(
                [kept: 1, wrongEpoch: 7, takenOver: 1, neverClaimed: 1], holder: "a/1", lease: Self.lease, now: Self.at(20))
            #expect(lost == [wrongEpoch, takenOver, neverClaimed])

            // Renewed until +50; the one not renewed ran out at +30.
            #expect(try await store.claimHome(kept, instance: "b", holder: "b/1", lease: Self.lease, now: Self.at(35))
                == .elsewhere(instance: "a", leaseUntil: Self.at(50)))
            #expect(try await store.claimHome(wrongEpoch, instance: "b", holder: "b/1", lease: Self.lease, now: Self.at(35))
                == .held(epoch: 2, takenOver: true))
            // The holder that took one over keeps its lease (until +35).
            #expect(try await store.claimHome(takenOver, instance: "b", holder: "b/1", lease: Self.lease, now: Self.at(34))
                == .elsewhere(instance: "a", leaseUntil: Self.at(35)))
            // Renewing with the right holder and epoch again: nothing lost.
            #expect(try await store.renewHomes([kept: 1, takenOver: 2], holder: "a/1", lease: Self.lease, now: Self.at(36)) == [takenOver])
            #expect(try await store.renewHomes([takenOver: 2], holder: "a/2", lease: Self.lease, now: Self.at(36)).isEmpty)
        }
    }

    /// A released home keeps its epoch: the next claim gets the next one,
    /// not taken over (there is nothing to restore), and a write with the
    /// released epoch is refused even from the same holder.
    @Test(arguments: StoreKind.allCases) func releaseFreesTheHomeOnlyForItsHolderAndEpoch(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let call = try await Fixture.consultation(in: store, now: Self.now)
            let seats = [Self.seat(.veileder), Self.seat(.deltaker)]
            #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: Self.lease, now: Self.now)
                == .held(epoch: 1, takenOver: false))
            #expect(try await store.saveSeats(seats, presence: .nobody, of: call, holder: "a/1", epoch: 1))

            // The wrong epoch, or the wrong holder: nothing happens.
            try await store.releaseHome(call, holder: "a/1", epoch: 2)
            try await store.releaseHome(call, holder: "b/1", epoch: 1)
            #expect(try await store.seats(of: call) == seats)
            #expect(try await store.consultation(resume: seats[0].resume) == call)
            #expect(try await store.claimHome(call, instance: "b", holder: "b/1", lease: Self.lease, now: Self.at(1))
                == .elsewhere(instance: "a", leaseUntil: Self.at(30)))

            // The right ones: the home is free at once and its seats are gone.
            try await store.releaseHome(call, holder: "a/1", epoch: 1)
            #expect(try await store.seats(of: call).isEmpty)
            #expect(try await store.consultation(resume: seats[0].resume) == nil)
            #expect(try await store.claimHome(call, instance: "b", holder: "b/1", lease: Self.lease, now: Self.at(2))
                == .held(epoch: 2, takenOver: false))
            #expect(try await !store.saveSeats(seats, presence: .nobody, of: call, holder: "a/1", epoch: 1))
            #expect(try await store.renewHomes([call: 1], holder: "a/1", lease: Self.lease, now: Self.at(3)) == [call])

            // Released and claimed again by the same holder: still a new epoch,
            // and the old one stays fenced out.
            try await store.releaseHome(call, holder: "b/1", epoch: 2)
            #expect(try await store.claimHome(call, instance: "b", holder: "b/1", lease: Self.lease, now: Self.at(4))
                == .held(epoch: 3, takenOver: false))
            #expect(try await !store.saveSeats(seats, presence: .nobody, of: call, holder: "b/1", epoch: 2))
            #expect(try await store.seats(of: call).isEmpty)
            // Releasing twice does nothing more.
            try await store.releaseHome(call, holder: "b/1", epoch: 3)
            try await store.releaseHome(call, holder: "b/1", epoch: 3)
            #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: Self.lease, now: Self.at(5))
                == .held(epoch: 4, takenOver: false))
        }
    }

    // MARK: Presence

    @Test(arguments: StoreKind.allCases) func presenceIsWhatTheHomeLastStoredWhileItsLeaseRuns(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let call = try await Fixture.consultation(in: store, now: Self.now)
            let quiet = try await Fixture.consultation(in: store, now: Self.now)
            #expect(try await store.presence(of: [], now: Self.now).isEmpty)
            #expect(try await store.presence(of: [call, quiet], now: Self.now).isEmpty)
            #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: Self.lease, now: Self.now)
                == .held(epoch: 1, takenOver: false))
            #expect(try await store.presence(of: [call], now: Self.now) == [call: .nobody])
            let seen = CallPresence(waiting: 2, inCall: 3)
            #expect(try await store.saveSeats([Self.seat(.veileder)], presence: seen, of: call, holder: "a/1", epoch: 1))
            #expect(try await store.presence(of: [call, quiet], now: Self.at(10)) == [call: seen])
            // Not by a holder that lost the home.
            #expect(try await !store.saveSeats([], presence: .nobody, of: call, holder: "b/1", epoch: 1))
            #expect(try await store.presence(of: [call], now: Self.at(10)) == [call: seen])
            // A home whose lease ran out says nothing: its instance may be gone.
            #expect(try await store.presence(of: [call], now: Self.at(31)).isEmpty)
            // Released: nobody.
            _ = try await store.renewHomes([call: 1], holder: "a/1", lease: Self.lease, now: Self.at(20))
            try await store.releaseHome(call, holder: "a/1", epoch: 1)
            #expect(try await store.presence(of: [call], now: Self.at(21)).isEmpty)
        }
    }

    // MARK: Seats

    @Test(arguments: StoreKind.allCases) func seatsRoundTripInOrderAndAreFenced(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let call = try await Fixture.consultation(in: store, now: Self.now)
            let other = try await Fixture.consultation(in: store, now: Self.now)
            #expect(try await store.seats(of: call).isEmpty)
            #expect(try await !store.saveSeats([Self.seat(.deltaker)], presence: .nobody, of: call, holder: "a/1", epoch: 1))
            #expect(try await store.claimHome(call, instance: "a", holder: "a/1", lease: Self.lease, now: Self.now)
                == .held(epoch: 1, takenOver: false))

            let veileder = Self.seat(.veileder, lastKeyId: Fixture.keyA)
            let deltaker = Self.seat(.deltaker)
            let tolk = Self.seat(.tolk, lastKeyId: Fixture.keyC)
            #expect(try await store.saveSeats([tolk, veileder, deltaker], presence: .nobody, of: call, holder: "a/1", epoch: 1))
            #expect(try await store.seats(of: call) == [tolk, veileder, deltaker])
            #expect(try await store.seats(of: other).isEmpty)
            #expect(try await store.consultation(resume: veileder.resume) == call)
            #expect(try await store.consultation(resume: deltaker.resume) == call)
            #expect(try await store.consultation(resume: ResumeToken.random().hash) == nil)

            // A save replaces them all, in its own order.
            #expect(try await store.saveSeats([deltaker, tolk], presence: .nobody, of: call, holder: "a/1", epoch: 1))
            #expect(try await store.seats(of: call) == [deltaker, tolk])
            #expect(try await store.consultation(resume: veileder.resume) == nil)

            // A resume hash is one seat's: a save that repeats another call's
            // fails whole, and the seats stay as they were.
            #expect(try await store.claimHome(other, instance: "a", holder: "a/1", lease: Self.lease, now: Self.now)
                == .held(epoch: 1, takenOver: false))
            let alone = Self.seat(.veileder)
            #expect(try await store.saveSeats([alone], presence: .nobody, of: other, holder: "a/1", epoch: 1))
            let taken = await #expect(throws: StorageError.self) {
                try await store.saveSeats([Self.seat(.veileder), tolk], presence: .nobody, of: other, holder: "a/1", epoch: 1)
            }
            #expect(taken?.code == .conflict)
            #expect(try await store.seats(of: other) == [alone])
            #expect(try await store.seats(of: call) == [deltaker, tolk])

            // Taken over: the old holder's save writes nothing; the new one
            // finds the seats as last saved.
            #expect(try await store.claimHome(call, instance: "b", holder: "b/1", lease: Self.lease, now: Self.at(30))
                == .held(epoch: 2, takenOver: true))
            #expect(try await !store.saveSeats([veileder], presence: .nobody, of: call, holder: "a/1", epoch: 1))
            #expect(try await !store.saveSeats([veileder], presence: .nobody, of: call, holder: "b/1", epoch: 1))
            #expect(try await store.seats(of: call) == [deltaker, tolk])
            #expect(try await store.saveSeats([], presence: .nobody, of: call, holder: "b/1", epoch: 2))
            #expect(try await store.seats(of: call).isEmpty)
            #expect(try await store.consultation(resume: deltaker.resume) == nil)
        }
    }

    // MARK: Route secret

    @Test(arguments: StoreKind.allCases) func routeSecretIsMadeOnce(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let secrets = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<8 { group.addTask { try await store.routeSecret() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let first = try #require(secrets.first)
            #expect(first.count == RouteKey.secretLength)
            #expect(first != [UInt8](repeating: 0, count: RouteKey.secretLength))
            #expect(secrets.allSatisfy { $0 == first })
            #expect(try await store.routeSecret() == first)
        }
    }

    // MARK: Concurrency

    /// Sixteen instances claiming one call at once: one has it, and every
    /// other is sent to that one.
    @Test(arguments: StoreKind.allCases) func concurrentClaimsHaveOneWinner(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let call = try await Fixture.consultation(in: store, now: Self.now)
            let claims = try await withThrowingTaskGroup(of: (String, HomeClaim).self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let instance = "i\(index)"
                        return (instance, try await store.claimHome(
                            call, instance: instance, holder: "\(instance)/boot", lease: Self.lease, now: Self.now))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(claims.count == 16)
            let winners = claims.filter { $0.1 == .held(epoch: 1, takenOver: false) }
            let winner = try #require(winners.first?.0)
            #expect(winners.count == 1)
            for (instance, claim) in claims where instance != winner {
                #expect(claim == .elsewhere(instance: winner, leaseUntil: Self.at(Self.lease)))
            }
        }
    }
}
