#!/bin/sh
# Builds Web/lib/sodium.wasm, the browser's libsodium: Debian's own libsodium
# 1.0.18 source (`apt-get source libsodium`, with Debian's security patches)
# compiled by the Swift toolchain's clang for wasm32-wasi and linked as a
# reactor module that exports only what Web/lib/sodium.js uses.
#
# Idempotent and cached under .build/sodium-wasm/: the source is fetched once,
# libsodium is configured and built once, and when Web/lib/sodium.wasm is
# newer than this script nothing is done at all. `--force` skips that last
# shortcut (the cached steps stay cached); scripts/test-sodium-wasm.sh uses it
# to make sure the build tree is there.
#
# It never edits /etc: the deb-src entries live in a private apt directory.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SCRIPT=scripts/build-sodium-wasm.sh
OUT=Web/lib/sodium.wasm
FORCE=0
if [ "${1:-}" = "--force" ]; then
    FORCE=1
fi

if [ "$FORCE" -eq 0 ] && [ -f "$OUT" ] && [ -n "$(find "$OUT" -newer "$SCRIPT")" ]; then
    echo "sodium-wasm: $OUT is up to date"
    exit 0
fi

VERSION=1.0.18
WORK=$ROOT/.build/sodium-wasm
SRC=$WORK/src/libsodium-$VERSION
PREFIX=$WORK/prefix
TOOLCHAIN=/opt/swift/usr/bin
CLANG_RT=/usr/lib/llvm-16/lib/clang/16/lib/wasi/libclang_rt.builtins-wasm32.a
START=$(date +%s)
did=""

for tool in "$TOOLCHAIN/clang" "$TOOLCHAIN/wasm-ld" "$TOOLCHAIN/llvm-ar"; do
    if [ ! -x "$tool" ]; then
        echo "sodium-wasm: $tool is missing (the Swift toolchain's clang and wasm-ld are needed)" >&2
        exit 1
    fi
done
for path in /usr/include/wasm32-wasi/stdlib.h /usr/lib/wasm32-wasi/libc.a "$CLANG_RT"; do
    if [ ! -e "$path" ]; then
        echo "sodium-wasm: $path is missing: run sh scripts/install-deps.sh" >&2
        exit 1
    fi
done

mkdir -p "$WORK"

# --- 1. A sysroot, a resource dir and a compiler wrapper --------------------
# The toolchain's clang 21 knows wasm32 but ships no WASI libc or builtins:
# the sysroot pairs Debian's wasi-libc headers and libraries, and the resource
# dir pairs clang 21's own headers with Debian's LLVM 16 wasm32 builtins.
SYSROOT=$WORK/sysroot
RESOURCE=$WORK/resource
mkdir -p "$SYSROOT/lib" "$RESOURCE/lib/wasi"
ln -sfn /usr/include/wasm32-wasi "$SYSROOT/include"
ln -sfn /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"
ln -sfn "$("$TOOLCHAIN/clang" -print-resource-dir)/include" "$RESOURCE/include"
ln -sfn "$CLANG_RT" "$RESOURCE/lib/wasi/libclang_rt.builtins-wasm32.a"

CC=$WORK/wasm32-wasi-cc
cat > "$CC.tmp" <<EOF
#!/bin/sh
exec "$TOOLCHAIN/clang" --target=wasm32-wasi --sysroot="$SYSROOT" -resource-dir="$RESOURCE" "\$@"
EOF
chmod +x "$CC.tmp"
if ! cmp -s "$CC.tmp" "$CC" 2>/dev/null; then
    mv "$CC.tmp" "$CC"
else
    rm -f "$CC.tmp"
fi

# --- 2. Debian's source, through a private deb-src list ---------------------
if [ ! -f "$WORK/source.stamp" ]; then
    APT=$WORK/apt
    rm -rf "$APT" "$WORK/src"
    mkdir -p "$APT/sources.list.d" "$APT/lists/partial" "$APT/cache/archives/partial" "$WORK/src"
    cat > "$APT/sources.list.d/debian-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    set -- -o Dir::Etc::SourceList=/dev/null \
        -o Dir::Etc::SourceParts="$APT/sources.list.d" \
        -o Dir::State::Lists="$APT/lists" \
        -o Dir::Cache="$APT/cache"
    apt-get -qq "$@" update >"$WORK/apt-update.log" 2>&1 || {
        cat "$WORK/apt-update.log" >&2
        echo "sodium-wasm: apt-get update of the private deb-src list failed" >&2
        exit 1
    }
    (cd "$WORK/src" && apt-get -qq "$@" source libsodium) >"$WORK/apt-source.log" 2>&1 || {
        cat "$WORK/apt-source.log" >&2
        echo "sodium-wasm: apt-get source libsodium failed" >&2
        exit 1
    }
    if [ ! -f "$SRC/src/libsodium/include/sodium.h" ]; then
        echo "sodium-wasm: apt-get source did not give libsodium $VERSION:" >&2
        ls "$WORK/src" >&2
        exit 1
    fi
    touch "$WORK/source.stamp"
    did="$did fetched $(basename "$WORK"/src/libsodium_*.dsc .dsc);"
fi

# --- 3. libsodium.a for wasm32-wasi -----------------------------------------
CONFIGURE_FLAGS="--host=wasm32-wasi --disable-ssp --disable-shared --without-pthreads --disable-asm --disable-pie"
LIB_CFLAGS="-Os -D_WASI_EMULATED_SIGNAL"
LIB_STAMP="$CONFIGURE_FLAGS CFLAGS=$LIB_CFLAGS"
if [ "$(cat "$WORK/library.stamp" 2>/dev/null || true)" != "$LIB_STAMP" ]; then
    rm -f "$WORK/library.stamp"
    (
        cd "$SRC"
        if [ ! -x configure ]; then
            # Without the variable autogen.sh tries to download config.sub.
            DO_NOT_UPDATE_CONFIG_SCRIPTS=1 ./autogen.sh -s
        fi
        if [ -f Makefile ]; then
            make distclean
        fi
        # shellcheck disable=SC2086
        ./configure --prefix="$PREFIX" $CONFIGURE_FLAGS \
            CC="$CC" AR="$TOOLCHAIN/llvm-ar" RANLIB="$TOOLCHAIN/llvm-ranlib" NM="$TOOLCHAIN/llvm-nm" \
            CFLAGS="$LIB_CFLAGS"
        make -j"$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
        make install
    ) >"$WORK/library.log" 2>&1 || {
        tail -40 "$WORK/library.log" >&2
        echo "sodium-wasm: building libsodium failed; full log in $WORK/library.log" >&2
        exit 1
    }
    echo "$LIB_STAMP" > "$WORK/library.stamp"
    did="$did built libsodium.a;"
fi

# --- 4. The reactor module ---------------------------------------------------
# A small shim, linked before libc:
# - wasi-libc's __assert_fail prints through stdio; this one traps, which
#   keeps stdio (and every fd_* import) out of the module;
# - wipe_stack() zeroes the stack area libsodium's functions use (the
#   deepest call here, Ed25519 verification, uses about 3 KB), because some
#   leave secrets behind there (blake2b_final, and so crypto_kx, leaves its
#   output); sodium.js calls it after every call.
cat > "$WORK/shim.c.tmp" <<'EOF'
#include <stddef.h>

void sodium_memzero(void *pnt, size_t len);

void __assert_fail(const char *expr, const char *file, int line, const char *func)
{
    (void) expr; (void) file; (void) line; (void) func;
    __builtin_trap();
}

__attribute__((noinline)) void wipe_stack(void)
{
    unsigned char stack[32768];
    sodium_memzero(stack, sizeof stack);
}
EOF
mv "$WORK/shim.c.tmp" "$WORK/shim.c"

EXPORTS="malloc free wipe_stack sodium_init sodium_memzero sodium_pad sodium_unpad randombytes_buf
crypto_kx_keypair crypto_kx_client_session_keys crypto_kx_server_session_keys
crypto_kx_publickeybytes crypto_kx_secretkeybytes crypto_kx_sessionkeybytes
crypto_aead_xchacha20poly1305_ietf_encrypt crypto_aead_xchacha20poly1305_ietf_decrypt
crypto_aead_xchacha20poly1305_ietf_keybytes crypto_aead_xchacha20poly1305_ietf_npubbytes
crypto_aead_xchacha20poly1305_ietf_abytes
crypto_generichash crypto_generichash_bytes_min crypto_generichash_bytes_max
crypto_generichash_keybytes_min crypto_generichash_keybytes_max
crypto_hash_sha256 crypto_hash_sha256_bytes
crypto_sign_verify_detached crypto_sign_bytes crypto_sign_publickeybytes"
export_flags=""
for symbol in $EXPORTS; do
    export_flags="$export_flags -Wl,--export=$symbol"
done

mkdir -p "$(dirname "$OUT")"
# shellcheck disable=SC2086
"$CC" -Os -mexec-model=reactor -o "$OUT.tmp" "$WORK/shim.c" "$PREFIX/lib/libsodium.a" \
    $export_flags -Wl,-z,stack-size=262144 -Wl,--strip-all
mv "$OUT.tmp" "$OUT"
did="$did linked $OUT ($(wc -c <"$OUT" | tr -d ' ') bytes)"

echo "sodium-wasm:$did in $(($(date +%s) - START)) s"
