import Foundation
import Testing
@testable import Sodium

/// Known-answer tests for every primitive the wrapper exposes, and the
/// failure paths that callers depend on.
@Suite struct SodiumTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    @Test func boxOpensOnlyForItsRecipientAndUntouched() throws {
        let alice = Box.KeyPair.generate()
        let bob = Box.KeyPair.generate()
        let nonce = Random.bytes(Box.nonceLength)
        let sealed = try Box.seal(Array("client-auth".utf8), nonce: nonce, to: bob.publicKey, from: alice.secretKey)
        #expect(sealed.count == "client-auth".utf8.count + Box.tagLength)
        #expect(try Box.open(sealed, nonce: nonce, from: alice.publicKey, to: bob.secretKey) == Array("client-auth".utf8))
        var tampered = sealed
        tampered[0] ^= 1
        #expect(throws: SodiumError.self) { try Box.open(tampered, nonce: nonce, from: alice.publicKey, to: bob.secretKey) }
        #expect(throws: SodiumError.self) { try Box.open(sealed, nonce: nonce, from: bob.publicKey, to: bob.secretKey) }
        #expect(throws: SodiumError.self) { try Box.seal([1], nonce: [0], to: bob.publicKey, from: alice.secretKey) }
        #expect(throws: SodiumError.self) { try Box.open([1, 2], nonce: nonce, from: alice.publicKey, to: bob.secretKey) }
    }

    @Test func linksLibsodium1018OrLater() {
        #expect(Sodium.version.hasPrefix("1.0."))
    }

    @Test func sha256KnownAnswer() {
        #expect(Self.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func blake2bKnownAnswer() throws {
        #expect(Self.hex(try GenericHash.hash([UInt8](), length: 32)) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        #expect(Self.hex(try GenericHash.hash(Array("abc".utf8), length: 64))
            == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
        #expect(throws: SodiumError.self) { try GenericHash.hash([UInt8](), length: 8) }
    }

    @Test func base64URLRoundTripAndStrictness() throws {
        for length in 0..<40 {
            let data = Random.bytes(length)
            let text = Base64URL.encode(data)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(try Base64URL.decode(text) == data)
        }
        #expect(Base64URL.encode(Array("\u{fb}\u{ff}".utf8)) == "w7vDvw")
        #expect(throws: SodiumError.self) { try Base64URL.decode("ab+c") }
        #expect(throws: SodiumError.self) { try Base64URL.decode("YQ==") }
        #expect(throws: SodiumError.self) { try Base64URL.decode("YQ ") }
        #expect(throws: SodiumError.self) { try Base64URL.decode("AAAA", length: 4) }
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
    }

    @Test func secureBytesHideTheirContent() {
        let secret = SecureBytes(Array("hemmelig".utf8))
        #expect(!"\(secret)".contains("hemmelig"))
        #expect(secret == SecureBytes(Array("hemmelig".utf8)))
        #expect(secret != SecureBytes(Array("hemmelix".utf8)))
        #expect(SecureBytes.random(count: 32).count == 32)
    }

    @Test func argon2idHashesVerifyAndRefuse() throws {
        let password = SecureBytes(Array("korrekt hest batteri stift".utf8))
        let hash = try PasswordHash.hash(password: password)
        #expect(hash.hasPrefix("$argon2id$"))
        #expect(PasswordHash.verify(password: password, hash: hash))
        #expect(!PasswordHash.verify(password: SecureBytes(Array("feil".utf8)), hash: hash))
        #expect(!PasswordHash.verify(password: password, hash: "not a hash"))
        #expect(!PasswordHash.needsRehash(hash))
        #expect(PasswordHash.needsRehash(hash, limits: .moderate))
        #expect(throws: SodiumError.self) {
            try PasswordHash.hash(password: SecureBytes([UInt8](repeating: 65, count: 2000)))
        }
    }

    @Test func keyExchangeGivesMatchingDirectionalKeys() throws {
        let client = KeyExchange.KeyPair.generate()
        let server = KeyExchange.KeyPair.generate()
        let c = try KeyExchange.clientSessionKeys(client, serverPublicKey: server.publicKey)
        let s = try KeyExchange.serverSessionKeys(server, clientPublicKey: client.publicKey)
        #expect(c.tx == s.rx)
        #expect(c.rx == s.tx)
        #expect(c.tx != c.rx)
        #expect(throws: SodiumError.self) { try KeyExchange.PublicKey([1, 2, 3]) }
    }

    @Test func keyExchangeKnownAnswerFromSeeds() throws {
        // Deterministic from seeds: the same inputs give the same keys everywhere.
        let a = try KeyExchange.KeyPair.fromSeed(SecureBytes([UInt8](repeating: 1, count: 32)))
        let b = try KeyExchange.KeyPair.fromSeed(SecureBytes([UInt8](repeating: 1, count: 32)))
        #expect(a.publicKey == b.publicKey)
        #expect(a.secretKey == b.secretKey)
    }

    @Test func xchachaSealsOpensAndDetectsTampering() throws {
        let key = SecureBytes.random(count: XChaCha20Poly1305.keyLength)
        let nonce = XChaCha20Poly1305.randomNonce()
        let ad = Array("samrom/chat/v1|x".utf8)
        let sealed = try XChaCha20Poly1305.seal(Array("hei".utf8), additionalData: ad, nonce: nonce, key: key)
        #expect(sealed.count == 3 + XChaCha20Poly1305.tagLength)
        #expect(try XChaCha20Poly1305.open(sealed, additionalData: ad, nonce: nonce, key: key).copyBytes() == Array("hei".utf8))
        var flipped = sealed
        flipped[0] ^= 1
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open(flipped, additionalData: ad, nonce: nonce, key: key) }
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open(sealed, additionalData: ad + [0], nonce: nonce, key: key) }
        var otherNonce = nonce
        otherNonce[23] ^= 1
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open(sealed, additionalData: ad, nonce: otherNonce, key: key) }
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open([1, 2], additionalData: ad, nonce: nonce, key: key) }
    }

    @Test func xchachaKnownAnswer() throws {
        // draft-irtf-cfrg-xchacha-03 §A.3.1 (libsodium's own test vector).
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let ad = Self.bytes("50515253c0c1c2c3c4c5c6c7")
        let key = SecureBytes(Self.bytes("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"))
        let nonce = Self.bytes("404142434445464748494a4b4c4d4e4f5051525354555657")
        let sealed = try XChaCha20Poly1305.seal(plaintext, additionalData: ad, nonce: nonce, key: key)
        #expect(Self.hex(Array(sealed.suffix(16))) == "c0875924c1c7987947deafd8780acf49")
        #expect(Self.hex(Array(sealed.prefix(16))) == "bd6d179d3e83d43b9576579493c0e939")
    }

    @Test func paddingToBlocks() throws {
        for length in [0, 1, 127, 128, 129] {
            let message = [UInt8](repeating: 7, count: length)
            let padded = try Padding.pad(message, blockSize: 128)
            #expect(padded.count % 128 == 0 && padded.count > length)
            #expect(try Padding.unpad(padded, blockSize: 128) == message)
        }
        #expect(throws: SodiumError.self) { try Padding.unpad([UInt8](repeating: 0, count: 128), blockSize: 128) }
    }

    @Test func ed25519KnownAnswerRFC8032() throws {
        // RFC 8032 §7.1, test 1 (empty message).
        let key = try Ed25519.SigningKey(seed: SecureBytes(Self.bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")))
        #expect(Self.hex(key.publicKey.bytes) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = key.sign([])
        #expect(Self.hex(signature.bytes)
            == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        #expect(key.publicKey.isValidSignature(signature, for: []))
        #expect(!key.publicKey.isValidSignature(signature, for: [0]))
    }
}
