// @ts-check
/**
 * The browser's libsodium.
 *
 * A plain ES module (no build step) around `sodium.wasm`, which
 * scripts/build-sodium-wasm.sh compiles from Debian's libsodium 1.0.18 source
 * for wasm32-wasi. The server links the same libsodium natively, so keys,
 * session keys, ciphertexts and hashes are byte-identical on both sides.
 *
 *     import { load } from './lib/sodium.js';
 *     const sodium = await load();
 *     const { publicKey, secretKey } = sodium.kxKeypair();
 *
 * All byte values are Uint8Array; every result is a fresh copy owned by the
 * caller. Every input is copied into WebAssembly memory for the one call that
 * needs it, and that copy (and every output buffer, and the stack area the
 * call used) is wiped with `sodium_memzero` and freed before the call
 * returns, whatever happens.
 *
 * Needs `fetch` and `crypto.getRandomValues` (a window or a worker; no DOM).
 * The server must send the module as `application/wasm` (otherwise the slower
 * non-streaming path is taken) and a CSP that allows `'wasm-unsafe-eval'`.
 * It cannot load from `file://`.
 */

/**
 * The functions sodium.wasm exports (a pointer is a number; a 64-bit
 * `unsigned long long` length is a BigInt).
 * @typedef {object} SodiumExports
 * @property {WebAssembly.Memory} memory
 * @property {() => void} _initialize
 * @property {(size: number) => number} malloc
 * @property {(ptr: number) => void} free
 * @property {() => void} wipe_stack
 * @property {() => number} sodium_init
 * @property {(ptr: number, len: number) => void} sodium_memzero
 * @property {(paddedLenPtr: number, buf: number, unpaddedLen: number, blockSize: number, maxLen: number) => number} sodium_pad
 * @property {(unpaddedLenPtr: number, buf: number, paddedLen: number, blockSize: number) => number} sodium_unpad
 * @property {(buf: number, size: number) => void} randombytes_buf
 * @property {(pk: number, sk: number) => number} crypto_kx_keypair
 * @property {(rx: number, tx: number, clientPk: number, clientSk: number, serverPk: number) => number} crypto_kx_client_session_keys
 * @property {(rx: number, tx: number, serverPk: number, serverSk: number, clientPk: number) => number} crypto_kx_server_session_keys
 * @property {() => number} crypto_kx_publickeybytes
 * @property {() => number} crypto_kx_secretkeybytes
 * @property {() => number} crypto_kx_sessionkeybytes
 * @property {(c: number, clenPtr: number, m: number, mlen: bigint, ad: number, adlen: bigint, nsec: number, npub: number, k: number) => number} crypto_aead_xchacha20poly1305_ietf_encrypt
 * @property {(m: number, mlenPtr: number, nsec: number, c: number, clen: bigint, ad: number, adlen: bigint, npub: number, k: number) => number} crypto_aead_xchacha20poly1305_ietf_decrypt
 * @property {() => number} crypto_aead_xchacha20poly1305_ietf_keybytes
 * @property {() => number} crypto_aead_xchacha20poly1305_ietf_npubbytes
 * @property {() => number} crypto_aead_xchacha20poly1305_ietf_abytes
 * @property {(out: number, outlen: number, input: number, inlen: bigint, key: number, keylen: number) => number} crypto_generichash
 * @property {() => number} crypto_generichash_bytes_min
 * @property {() => number} crypto_generichash_bytes_max
 * @property {() => number} crypto_generichash_keybytes_min
 * @property {() => number} crypto_generichash_keybytes_max
 * @property {(out: number, input: number, inlen: bigint) => number} crypto_hash_sha256
 * @property {() => number} crypto_hash_sha256_bytes
 * @property {(sig: number, m: number, mlen: bigint, pk: number) => number} crypto_sign_verify_detached
 * @property {() => number} crypto_sign_bytes
 * @property {() => number} crypto_sign_publickeybytes
 */

/**
 * Sizes in bytes, read from the module itself at load time.
 * @typedef {object} SodiumSizes
 * @property {number} kxPublicKeyBytes      32
 * @property {number} kxSecretKeyBytes      32
 * @property {number} kxSessionKeyBytes     32
 * @property {number} aeadKeyBytes          32 (XChaCha20-Poly1305-IETF)
 * @property {number} aeadNonceBytes        24
 * @property {number} aeadABytes            16 (the authentication tag)
 * @property {number} genericHashBytesMin   16
 * @property {number} genericHashBytesMax   64
 * @property {number} genericHashKeyBytesMin 16
 * @property {number} genericHashKeyBytesMax 64
 * @property {number} sha256Bytes           32
 * @property {number} signBytes             64 (Ed25519 signature)
 * @property {number} signPublicKeyBytes    32
 */

/**
 * @typedef {object} KeyPair
 * @property {Uint8Array} publicKey
 * @property {Uint8Array} secretKey
 */

/**
 * Directional session keys: `rx` decrypts what the peer sends, `tx`
 * encrypts what we send.
 * @typedef {object} SessionKeys
 * @property {Uint8Array} rx
 * @property {Uint8Array} tx
 */

/**
 * @typedef {object} Sodium
 * @property {SodiumSizes} sizes
 * @property {(n: number) => Uint8Array} randomBytes
 *   `n` bytes from libsodium's CSPRNG (`randombytes_buf`).
 * @property {() => KeyPair} kxKeypair
 *   A fresh X25519 key pair (`crypto_kx_keypair`).
 * @property {(clientPk: Uint8Array, clientSk: Uint8Array, serverPk: Uint8Array) => SessionKeys} kxClientSessionKeys
 *   The client side's session keys; throws on an unacceptable server key.
 * @property {(serverPk: Uint8Array, serverSk: Uint8Array, clientPk: Uint8Array) => SessionKeys} kxServerSessionKeys
 *   The server side's session keys; throws on an unacceptable client key.
 * @property {(message: Uint8Array, ad: Uint8Array | null | undefined, nonce: Uint8Array, key: Uint8Array) => Uint8Array} aeadEncrypt
 *   XChaCha20-Poly1305-IETF: ciphertext followed by the 16-byte tag.
 * @property {(ciphertext: Uint8Array, ad: Uint8Array | null | undefined, nonce: Uint8Array, key: Uint8Array) => Uint8Array} aeadDecrypt
 *   The message; throws if the ciphertext, associated data, nonce or key
 *   do not match.
 * @property {(length: number, message: Uint8Array, key?: Uint8Array | null) => Uint8Array} genericHash
 *   BLAKE2b (`crypto_generichash`), `length` 16–64, optional key 16–64 bytes
 *   (none, null or empty: unkeyed).
 * @property {(message: Uint8Array) => Uint8Array} sha256
 * @property {(buf: Uint8Array, blockSize: number) => Uint8Array} pad
 *   ISO/IEC 7816-4 padding to a multiple of `blockSize` (`sodium_pad`).
 * @property {(buf: Uint8Array, blockSize: number) => Uint8Array} unpad
 *   Removes that padding; throws on bad padding (`sodium_unpad`).
 * @property {(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean} signVerifyDetached
 *   Ed25519 (`crypto_sign_verify_detached`), e.g. for signed audit checkpoints.
 */

const WASI_ENOSYS = 52;
const WASI_EIO = 29;
/** `crypto.getRandomValues` fills at most this many bytes per call. */
const MAX_RANDOM_CHUNK = 65536;
/** Lengths are passed as wasm32 `size_t`; keep them well inside it. */
const MAX_LENGTH = 0x7fff0000;

const REQUIRED_EXPORTS = [
    'memory', '_initialize', 'malloc', 'free', 'wipe_stack', 'sodium_init', 'sodium_memzero',
    'sodium_pad', 'sodium_unpad', 'randombytes_buf',
    'crypto_kx_keypair', 'crypto_kx_client_session_keys', 'crypto_kx_server_session_keys',
    'crypto_kx_publickeybytes', 'crypto_kx_secretkeybytes', 'crypto_kx_sessionkeybytes',
    'crypto_aead_xchacha20poly1305_ietf_encrypt', 'crypto_aead_xchacha20poly1305_ietf_decrypt',
    'crypto_aead_xchacha20poly1305_ietf_keybytes', 'crypto_aead_xchacha20poly1305_ietf_npubbytes',
    'crypto_aead_xchacha20poly1305_ietf_abytes',
    'crypto_generichash', 'crypto_generichash_bytes_min', 'crypto_generichash_bytes_max',
    'crypto_generichash_keybytes_min', 'crypto_generichash_keybytes_max',
    'crypto_hash_sha256', 'crypto_hash_sha256_bytes',
    'crypto_sign_verify_detached', 'crypto_sign_bytes', 'crypto_sign_publickeybytes',
];

/** @type {Promise<Sodium> | null} */
let loading = null;

/**
 * Loads and initialises sodium.wasm once; later calls share the result.
 * @param {string | URL} [wasmUrl] where sodium.wasm is (default: beside this module)
 * @returns {Promise<Sodium>}
 */
export function load(wasmUrl) {
    if (loading === null) {
        loading = instantiate(wasmUrl ?? new URL('./sodium.wasm', import.meta.url));
        loading.catch(() => {
            loading = null; // allow a retry after, say, a network error
        });
    }
    return loading;
}

/**
 * @param {string | URL} url
 * @returns {Promise<Sodium>}
 */
async function instantiate(url) {
    /** @type {WebAssembly.Memory | null} */
    let memory = null;

    /**
     * WASI `random_get(buf, len)`: the only import libsodium really uses.
     * @param {number} ptr
     * @param {number} len
     * @returns {number} a WASI errno
     */
    function randomGet(ptr, len) {
        if (memory === null) {
            return WASI_EIO;
        }
        try {
            ptr >>>= 0;
            len >>>= 0;
            for (let offset = 0; offset < len; offset += MAX_RANDOM_CHUNK) {
                const size = Math.min(MAX_RANDOM_CHUNK, len - offset);
                crypto.getRandomValues(new Uint8Array(memory.buffer, ptr + offset, size));
            }
            return 0;
        } catch {
            return WASI_EIO;
        }
    }

    // Every other WASI function the module imports (today only poll_oneoff)
    // is a stub that reports "not supported".
    const wasi = new Proxy(/** @type {Record<string, Function>} */ ({}), {
        get(_target, name) {
            if (name === 'random_get') {
                return randomGet;
            }
            return () => WASI_ENOSYS;
        },
    });
    const imports = { wasi_snapshot_preview1: wasi };

    const response = await fetch(url);
    if (!response.ok) {
        throw new Error(`sodium: fetching ${url} failed: HTTP ${response.status}`);
    }
    /** @type {WebAssembly.Instance} */
    let instance;
    if (typeof WebAssembly.instantiateStreaming === 'function') {
        const fallback = response.clone();
        try {
            ({ instance } = await WebAssembly.instantiateStreaming(response, imports));
        } catch (error) {
            // A TypeError means the response could not be streamed (usually a
            // Content-Type other than application/wasm): compile from bytes.
            if (!(error instanceof TypeError)) {
                throw error;
            }
            ({ instance } = await WebAssembly.instantiate(await fallback.arrayBuffer(), imports));
        }
    } else {
        ({ instance } = await WebAssembly.instantiate(await response.arrayBuffer(), imports));
    }

    for (const name of REQUIRED_EXPORTS) {
        if (!(name in instance.exports)) {
            throw new Error(`sodium: sodium.wasm does not export ${name} (rebuild it with scripts/build-sodium-wasm.sh)`);
        }
    }
    const ex = /** @type {SodiumExports} */ (/** @type {unknown} */ (instance.exports));
    memory = ex.memory;
    ex._initialize();
    if (ex.sodium_init() < 0) {
        throw new Error('sodium: sodium_init() failed');
    }
    return makeApi(ex);
}

/**
 * @param {SodiumExports} ex
 * @returns {Sodium}
 */
function makeApi(ex) {
    /** @type {SodiumSizes} */
    const sizes = Object.freeze({
        kxPublicKeyBytes: ex.crypto_kx_publickeybytes(),
        kxSecretKeyBytes: ex.crypto_kx_secretkeybytes(),
        kxSessionKeyBytes: ex.crypto_kx_sessionkeybytes(),
        aeadKeyBytes: ex.crypto_aead_xchacha20poly1305_ietf_keybytes(),
        aeadNonceBytes: ex.crypto_aead_xchacha20poly1305_ietf_npubbytes(),
        aeadABytes: ex.crypto_aead_xchacha20poly1305_ietf_abytes(),
        genericHashBytesMin: ex.crypto_generichash_bytes_min(),
        genericHashBytesMax: ex.crypto_generichash_bytes_max(),
        genericHashKeyBytesMin: ex.crypto_generichash_keybytes_min(),
        genericHashKeyBytesMax: ex.crypto_generichash_keybytes_max(),
        sha256Bytes: ex.crypto_hash_sha256_bytes(),
        signBytes: ex.crypto_sign_bytes(),
        signPublicKeyBytes: ex.crypto_sign_publickeybytes(),
    });

    /**
     * Runs `body` with a scratch allocator. Every buffer it hands out is
     * wiped and freed when `body` returns or throws, and so is the stack
     * area libsodium used (some of its functions leave secrets there).
     * @template T
     * @param {(scratch: Scratch) => T} body
     * @returns {T}
     */
    function withScratch(body) {
        /** @type {Array<{ptr: number, size: number}>} */
        const buffers = [];
        /** @type {Scratch} */
        const scratch = {
            alloc(size) {
                const ptr = ex.malloc(Math.max(size, 1));
                if (ptr === 0) {
                    throw new RangeError(`sodium: out of memory allocating ${size} bytes`);
                }
                buffers.push({ ptr, size: Math.max(size, 1) });
                return ptr;
            },
            copyIn(bytes) {
                const ptr = scratch.alloc(bytes.length);
                // A fresh view: malloc may have grown (and so detached) memory.
                new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
                return ptr;
            },
            copyOut(ptr, size) {
                return new Uint8Array(ex.memory.buffer, ptr, size).slice();
            },
            readSize(ptr) {
                return new DataView(ex.memory.buffer).getUint32(ptr, true);
            },
        };
        try {
            return body(scratch);
        } finally {
            for (let i = buffers.length - 1; i >= 0; i--) {
                ex.sodium_memzero(buffers[i].ptr, buffers[i].size);
                ex.free(buffers[i].ptr);
            }
            ex.wipe_stack();
        }
    }

    return Object.freeze({
        sizes,

        randomBytes(n) {
            checkLength(n, 'n');
            return withScratch((s) => {
                const buf = s.alloc(n);
                ex.randombytes_buf(buf, n);
                return s.copyOut(buf, n);
            });
        },

        kxKeypair() {
            return withScratch((s) => {
                const pk = s.alloc(sizes.kxPublicKeyBytes);
                const sk = s.alloc(sizes.kxSecretKeyBytes);
                if (ex.crypto_kx_keypair(pk, sk) !== 0) {
                    throw new Error('sodium: crypto_kx_keypair failed');
                }
                return {
                    publicKey: s.copyOut(pk, sizes.kxPublicKeyBytes),
                    secretKey: s.copyOut(sk, sizes.kxSecretKeyBytes),
                };
            });
        },

        kxClientSessionKeys(clientPk, clientSk, serverPk) {
            checkBytes(clientPk, 'clientPk', sizes.kxPublicKeyBytes);
            checkBytes(clientSk, 'clientSk', sizes.kxSecretKeyBytes);
            checkBytes(serverPk, 'serverPk', sizes.kxPublicKeyBytes);
            return withScratch((s) => {
                const rx = s.alloc(sizes.kxSessionKeyBytes);
                const tx = s.alloc(sizes.kxSessionKeyBytes);
                const ret = ex.crypto_kx_client_session_keys(
                    rx, tx, s.copyIn(clientPk), s.copyIn(clientSk), s.copyIn(serverPk));
                if (ret !== 0) {
                    throw new Error('sodium: key exchange failed (unacceptable server public key)');
                }
                return { rx: s.copyOut(rx, sizes.kxSessionKeyBytes), tx: s.copyOut(tx, sizes.kxSessionKeyBytes) };
            });
        },

        kxServerSessionKeys(serverPk, serverSk, clientPk) {
            checkBytes(serverPk, 'serverPk', sizes.kxPublicKeyBytes);
            checkBytes(serverSk, 'serverSk', sizes.kxSecretKeyBytes);
            checkBytes(clientPk, 'clientPk', sizes.kxPublicKeyBytes);
            return withScratch((s) => {
                const rx = s.alloc(sizes.kxSessionKeyBytes);
                const tx = s.alloc(sizes.kxSessionKeyBytes);
                const ret = ex.crypto_kx_server_session_keys(
                    rx, tx, s.copyIn(serverPk), s.copyIn(serverSk), s.copyIn(clientPk));
                if (ret !== 0) {
                    throw new Error('sodium: key exchange failed (unacceptable client public key)');
                }
                return { rx: s.copyOut(rx, sizes.kxSessionKeyBytes), tx: s.copyOut(tx, sizes.kxSessionKeyBytes) };
            });
        },

        aeadEncrypt(message, ad, nonce, key) {
            checkBytes(message, 'message');
            const adBytes = ad ?? EMPTY;
            checkBytes(adBytes, 'ad');
            checkBytes(nonce, 'nonce', sizes.aeadNonceBytes);
            checkBytes(key, 'key', sizes.aeadKeyBytes);
            checkLength(message.length + sizes.aeadABytes, 'message.length');
            return withScratch((s) => {
                const clen = message.length + sizes.aeadABytes;
                const c = s.alloc(clen);
                const m = s.copyIn(message);
                const a = s.copyIn(adBytes);
                const n = s.copyIn(nonce);
                const k = s.copyIn(key);
                const ret = ex.crypto_aead_xchacha20poly1305_ietf_encrypt(
                    c, 0, m, BigInt(message.length), a, BigInt(adBytes.length), 0, n, k);
                if (ret !== 0) {
                    throw new Error('sodium: encryption failed');
                }
                return s.copyOut(c, clen);
            });
        },

        aeadDecrypt(ciphertext, ad, nonce, key) {
            checkBytes(ciphertext, 'ciphertext');
            const adBytes = ad ?? EMPTY;
            checkBytes(adBytes, 'ad');
            checkBytes(nonce, 'nonce', sizes.aeadNonceBytes);
            checkBytes(key, 'key', sizes.aeadKeyBytes);
            if (ciphertext.length < sizes.aeadABytes) {
                throw new Error('sodium: decryption failed (ciphertext shorter than its tag)');
            }
            return withScratch((s) => {
                const mlen = ciphertext.length - sizes.aeadABytes;
                const m = s.alloc(mlen);
                const c = s.copyIn(ciphertext);
                const a = s.copyIn(adBytes);
                const n = s.copyIn(nonce);
                const k = s.copyIn(key);
                const ret = ex.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    m, 0, 0, c, BigInt(ciphertext.length), a, BigInt(adBytes.length), n, k);
                if (ret !== 0) {
                    throw new Error('sodium: decryption failed');
                }
                return s.copyOut(m, mlen);
            });
        },

        genericHash(length, message, key) {
            if (!Number.isInteger(length) || length < sizes.genericHashBytesMin || length > sizes.genericHashBytesMax) {
                throw new RangeError(`sodium: genericHash length must be ${sizes.genericHashBytesMin}–${sizes.genericHashBytesMax}`);
            }
            checkBytes(message, 'message');
            const keyBytes = key ?? EMPTY; // an empty key means unkeyed, as in libsodium
            checkBytes(keyBytes, 'key');
            if (keyBytes.length !== 0) {
                if (keyBytes.length < sizes.genericHashKeyBytesMin || keyBytes.length > sizes.genericHashKeyBytesMax) {
                    throw new RangeError(`sodium: genericHash key must be ${sizes.genericHashKeyBytesMin}–${sizes.genericHashKeyBytesMax} bytes`);
                }
            }
            return withScratch((s) => {
                const out = s.alloc(length);
                const m = s.copyIn(message);
                const k = keyBytes.length !== 0 ? s.copyIn(keyBytes) : 0;
                const ret = ex.crypto_generichash(out, length, m, BigInt(message.length), k, keyBytes.length);
                if (ret !== 0) {
                    throw new Error('sodium: crypto_generichash failed');
                }
                return s.copyOut(out, length);
            });
        },

        sha256(message) {
            checkBytes(message, 'message');
            return withScratch((s) => {
                const out = s.alloc(sizes.sha256Bytes);
                const m = s.copyIn(message);
                if (ex.crypto_hash_sha256(out, m, BigInt(message.length)) !== 0) {
                    throw new Error('sodium: crypto_hash_sha256 failed');
                }
                return s.copyOut(out, sizes.sha256Bytes);
            });
        },

        pad(buf, blockSize) {
            checkBytes(buf, 'buf');
            checkBlockSize(blockSize);
            const maxLen = buf.length + blockSize;
            checkLength(maxLen, 'buf.length + blockSize');
            return withScratch((s) => {
                const p = s.alloc(maxLen);
                new Uint8Array(ex.memory.buffer, p, buf.length).set(buf);
                const paddedLen = s.alloc(4);
                if (ex.sodium_pad(paddedLen, p, buf.length, blockSize, maxLen) !== 0) {
                    throw new Error('sodium: sodium_pad failed');
                }
                return s.copyOut(p, s.readSize(paddedLen));
            });
        },

        unpad(buf, blockSize) {
            checkBytes(buf, 'buf');
            checkBlockSize(blockSize);
            return withScratch((s) => {
                const p = s.copyIn(buf);
                const unpaddedLen = s.alloc(4);
                if (ex.sodium_unpad(unpaddedLen, p, buf.length, blockSize) !== 0) {
                    throw new Error('sodium: bad padding');
                }
                return s.copyOut(p, s.readSize(unpaddedLen));
            });
        },

        signVerifyDetached(signature, message, publicKey) {
            checkBytes(signature, 'signature', sizes.signBytes);
            checkBytes(message, 'message');
            checkBytes(publicKey, 'publicKey', sizes.signPublicKeyBytes);
            return withScratch((s) => {
                const sig = s.copyIn(signature);
                const m = s.copyIn(message);
                const pk = s.copyIn(publicKey);
                return ex.crypto_sign_verify_detached(sig, m, BigInt(message.length), pk) === 0;
            });
        },
    });
}

/**
 * @typedef {object} Scratch
 * @property {(size: number) => number} alloc         a wasm buffer of `size` bytes
 * @property {(bytes: Uint8Array) => number} copyIn   a wasm copy of `bytes`
 * @property {(ptr: number, size: number) => Uint8Array} copyOut  a JS copy of wasm bytes
 * @property {(ptr: number) => number} readSize       a wasm32 `size_t` at `ptr`
 */

const EMPTY = new Uint8Array(0);

/**
 * @param {unknown} value
 * @param {string} name
 * @param {number} [length] the exact length required, if any
 * @returns {asserts value is Uint8Array}
 */
function checkBytes(value, name, length) {
    if (!(value instanceof Uint8Array)) {
        throw new TypeError(`sodium: ${name} must be a Uint8Array`);
    }
    if (length !== undefined && value.length !== length) {
        throw new RangeError(`sodium: ${name} must be ${length} bytes, not ${value.length}`);
    }
    checkLength(value.length, `${name}.length`);
}

/**
 * @param {number} n
 * @param {string} name
 */
function checkLength(n, name) {
    if (!Number.isInteger(n) || n < 0 || n > MAX_LENGTH) {
        throw new RangeError(`sodium: ${name} must be an integer from 0 to ${MAX_LENGTH}`);
    }
}

/** @param {number} blockSize */
function checkBlockSize(blockSize) {
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_LENGTH) {
        throw new RangeError(`sodium: blockSize must be an integer from 1 to ${MAX_LENGTH}`);
    }
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64URL_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64URL.length; i++) {
    BASE64URL_VALUES[BASE64URL.charCodeAt(i)] = i;
}

/**
 * Base64url (RFC 4648 §5) without padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toBase64Url(bytes) {
    checkBytes(bytes, 'bytes');
    /** @type {string[]} */
    const parts = [];
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        parts.push(BASE64URL[n >>> 18] + BASE64URL[(n >>> 12) & 63] + BASE64URL[(n >>> 6) & 63] + BASE64URL[n & 63]);
    }
    if (bytes.length - i === 1) {
        const n = bytes[i] << 16;
        parts.push(BASE64URL[n >>> 18] + BASE64URL[(n >>> 12) & 63]);
    } else if (bytes.length - i === 2) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
        parts.push(BASE64URL[n >>> 18] + BASE64URL[(n >>> 12) & 63] + BASE64URL[(n >>> 6) & 63]);
    }
    return parts.join('');
}

/**
 * Strict base64url decoding: only `A–Z a–z 0–9 - _`, no padding, no
 * whitespace, and unused trailing bits must be zero (one text per value).
 * @param {string} text
 * @returns {Uint8Array}
 * @throws {SyntaxError} on anything else
 */
export function fromBase64Url(text) {
    if (typeof text !== 'string') {
        throw new TypeError('base64url: text must be a string');
    }
    if (text.length % 4 === 1) {
        throw new SyntaxError('base64url: invalid length');
    }
    const out = new Uint8Array(Math.floor((text.length * 3) / 4));
    let value = 0;
    let bits = 0;
    let o = 0;
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        const digit = code < 128 ? BASE64URL_VALUES[code] : -1;
        if (digit < 0) {
            throw new SyntaxError(`base64url: invalid character at position ${i}`);
        }
        value = (value << 6) | digit;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = value >>> bits;
            value &= (1 << bits) - 1;
        }
    }
    if (value !== 0) {
        throw new SyntaxError('base64url: non-canonical final character');
    }
    return out;
}
