import CSodium

/// X25519 key exchange (`crypto_kx`): per-device key pairs and directional
/// session keys.
public enum KeyExchange {
    public static let publicKeyLength = Int(crypto_kx_PUBLICKEYBYTES)
    public static let secretKeyLength = Int(crypto_kx_SECRETKEYBYTES)
    public static let seedLength = Int(crypto_kx_SEEDBYTES)
    public static let sessionKeyLength = Int(crypto_kx_SESSIONKEYBYTES)

    public struct PublicKey: Sendable, Hashable {
        public let bytes: [UInt8]
        public init(_ bytes: [UInt8]) throws {
            guard bytes.count == KeyExchange.publicKeyLength else {
                throw SodiumError(.invalidLength, "kx public key must be \(KeyExchange.publicKeyLength) bytes")
            }
            self.bytes = bytes
        }
    }

    public struct KeyPair: Sendable {
        public let publicKey: PublicKey
        public let secretKey: SecureBytes

        /// A fresh random key pair (`crypto_kx_keypair`).
        public static func generate() -> KeyPair {
            Sodium.ready()
            var pk = [UInt8](repeating: 0, count: publicKeyLength)
            let sk = SecureBytes(count: secretKeyLength) { s in
                _ = crypto_kx_keypair(&pk, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return KeyPair(publicKey: try! PublicKey(pk), secretKey: sk)
        }

        /// A deterministic key pair from a 32-byte seed (test vectors only).
        public static func fromSeed(_ seed: SecureBytes) throws -> KeyPair {
            Sodium.ready()
            guard seed.count == seedLength else { throw SodiumError(.invalidLength, "kx seed must be \(seedLength) bytes") }
            var pk = [UInt8](repeating: 0, count: publicKeyLength)
            let sk = seed.withUnsafeBytes { sd in
                SecureBytes(count: secretKeyLength) { s in
                    _ = crypto_kx_seed_keypair(
                        &pk, s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        sd.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            return KeyPair(publicKey: try PublicKey(pk), secretKey: sk)
        }
    }

    /// Session keys: `rx` opens what the peer sent, `tx` seals what we send.
    public struct SessionKeys: Sendable {
        public let rx: SecureBytes
        public let tx: SecureBytes
    }

    /// The client side (the deltaker in Samrom).
    public static func clientSessionKeys(_ own: KeyPair, serverPublicKey: PublicKey) throws -> SessionKeys {
        try session(own, peer: serverPublicKey, client: true)
    }

    /// The server side (the veileder in Samrom).
    public static func serverSessionKeys(_ own: KeyPair, clientPublicKey: PublicKey) throws -> SessionKeys {
        try session(own, peer: clientPublicKey, client: false)
    }

    private static func session(_ own: KeyPair, peer: PublicKey, client: Bool) throws -> SessionKeys {
        Sodium.ready()
        var rxBytes = [UInt8](repeating: 0, count: sessionKeyLength)
        var txBytes = [UInt8](repeating: 0, count: sessionKeyLength)
        defer {
            sodium_memzero(&rxBytes, rxBytes.count)
            sodium_memzero(&txBytes, txBytes.count)
        }
        let status = own.secretKey.withUnsafeBytes { sk in
            let skp = sk.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return client
                ? crypto_kx_client_session_keys(&rxBytes, &txBytes, own.publicKey.bytes, skp, peer.bytes)
                : crypto_kx_server_session_keys(&rxBytes, &txBytes, own.publicKey.bytes, skp, peer.bytes)
        }
        guard status == 0 else { throw SodiumError(.verificationFailed, "peer public key is not acceptable") }
        return SessionKeys(rx: SecureBytes(rxBytes), tx: SecureBytes(txBytes))
    }
}
