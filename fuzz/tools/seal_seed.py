#!/usr/bin/env python3
"""Writes a sealed record seed for the sealed_envelope target.

Seals a plaintext the way core/src/store/envelope.rs does (XChaCha20-Poly1305,
header b"TKEY" 1 key-id nonce, AAD = header + SHA-256(account)[:16]) under the
target's fixed key [7; 32] and account "user-1", prefixed with the mode byte
b"o". Needs the `cryptography` package (IETF ChaCha20-Poly1305; HChaCha20 is
here). Usage: seal_seed.py PLAINTEXT_FILE OUT_FILE
"""
import hashlib
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

KEY = bytes([7] * 32)
ACCOUNT = b"user-1"


def _rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k") + struct.unpack("<8I", key) + struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def seal(plaintext, nonce):
    key_id = hashlib.sha256(b"tokenkeep-store-key-id/v1" + KEY).digest()[:8]
    header = b"TKEY" + bytes([1]) + key_id + nonce
    aad = header + hashlib.sha256(ACCOUNT).digest()[:16]
    sealed = ChaCha20Poly1305(hchacha20(KEY, nonce[:16])).encrypt(b"\0" * 4 + nonce[16:], plaintext, aad)
    return header + sealed  # ciphertext then the 16-byte tag


if __name__ == "__main__":
    # draft-irtf-cfrg-xchacha §2.2.1 test vector.
    assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")).hex() == (
        "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
    with open(sys.argv[1], "rb") as f:
        plaintext = f.read()
    nonce = hashlib.sha256(plaintext).digest()[:24]  # deterministic seeds
    with open(sys.argv[2], "wb") as f:
        f.write(b"o" + seal(plaintext, nonce))
