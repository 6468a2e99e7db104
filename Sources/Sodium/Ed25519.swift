import CSodium

/// Ed25519 signatures (`crypto_sign_detached`), for signed audit checkpoints.
public enum Ed25519 {
    public static let publicKeyLength = Int(crypto_sign_PUBLICKEYBYTES)
    public static let secretKeyLength = Int(crypto_sign_SECRETKEYBYTES)
    public static let seedLength = Int(crypto_sign_SEEDBYTES)
    public static let signatureLength = Int(crypto_sign_BYTES)

    public struct PublicKey: Sendable, Hashable {
        public let bytes: [UInt8]
        public init(_ bytes: [UInt8]) throws {
            guard bytes.count == Ed25519.publicKeyLength else {
                throw SodiumError(.invalidLength, "Ed25519 public key must be \(Ed25519.publicKeyLength) bytes")
            }
            self.bytes = bytes
        }

        public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
            Sodium.ready()
            return crypto_sign_verify_detached(signature.bytes, message, UInt64(message.count), bytes) == 0
        }
    }

    public struct Signature: Sendable, Hashable {
        public let bytes: [UInt8]
        public init(_ bytes: [UInt8]) throws {
            guard bytes.count == Ed25519.signatureLength else {
                throw SodiumError(.invalidLength, "Ed25519 signature must be \(Ed25519.signatureLength) bytes")
            }
            self.bytes = bytes
        }
    }

    public struct SigningKey: Sendable {
        public let publicKey: PublicKey
        /// The 32-byte seed the key pair is derived from (what is stored).
        public let seed: SecureBytes
        private let secretKey: SecureBytes

        public static func generate() -> SigningKey {
            try! SigningKey(seed: .random(count: seedLength))
        }

        public init(seed: SecureBytes) throws {
            Sodium.ready()
            guard seed.count == Ed25519.seedLength else {
                throw SodiumError(.invalidLength, "Ed25519 seed must be \(Ed25519.seedLength) bytes")
            }
            var pk = [UInt8](repeating: 0, count: Ed25519.publicKeyLength)
            let sk = seed.withUnsafeBytes { sd in
                SecureBytes(count: Ed25519.secretKeyLength) { s in
                    _ = crypto_sign_seed_keypair(
                        &pk, s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        sd.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            self.seed = seed
            self.secretKey = sk
            self.publicKey = try PublicKey(pk)
        }

        public func sign(_ message: [UInt8]) -> Signature {
            var sig = [UInt8](repeating: 0, count: Ed25519.signatureLength)
            secretKey.withUnsafeBytes { sk in
                _ = crypto_sign_detached(
                    &sig, nil, message, UInt64(message.count), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return try! Signature(sig)
        }
    }
}
