import Foundation
import SamromCore
import Sodium

extension CallParticipant {
    /// A participant on a socket the caller opened and greeted itself (to any
    /// `/ws?…` path, following `moved`): what `veileder`, `knock` and
    /// `resume` return, for tests that connect through a load balancer.
    public init(
        socket: WSTestClient, consultation: String, keys: KeyExchange.KeyPair, welcome: WSTestClient.Message,
        admitted: WSTestClient.Message? = nil
    ) {
        self.init(socket: socket, consultation: ConsultationID(rawValue: consultation), keys: keys, welcome: welcome, admitted: admitted)
    }
}
