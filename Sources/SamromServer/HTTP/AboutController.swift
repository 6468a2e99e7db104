import Hummingbird
import SamromCore

/// `GET /api/about`: what every page may tell anyone before they join, from
/// the running configuration (`PrivacyFacts`). Public and the same for
/// everyone: no session, nothing about a person or a consultation.
struct AboutController {
    let facts: PrivacyFacts

    func register(on router: Router<SamromRequestContext>) {
        let facts = facts
        router.get("/api/about") { _, _ -> PrivacyFacts in facts }
    }
}

extension PrivacyFacts: ResponseEncodable {}
