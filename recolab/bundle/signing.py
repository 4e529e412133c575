"""Bundle signatures: HMAC-SHA256 over every member, ``config.json`` included.

Checksums (``config.json``'s ``sha256`` table) detect *corruption* only: whoever can edit a
bundle can recompute them. Detecting *tampering* needs a secret. When the environment
variable :data:`KEY_ENV` (``RECOLAB_BUNDLE_KEY``) holds a key, :func:`recolab.bundle.export_bundle`
adds a ``signature.json`` member::

    {"format": "recolab-bundle-signature", "version": 1, "algorithm": "hmac-sha256",
     "members": {"config.json": "<sha256>", "weights.safetensors": "<sha256>", ...},
     "mac": "<hex HMAC-SHA256 of the canonical manifest>"}

The manifest lists the name and SHA-256 of every other member; its canonical form is
:func:`canonical_manifest` (sorted keys, no spaces, ASCII). A bundle verifies when its
members are exactly the listed ones (nothing added, removed or renamed), each hashes to the
listed value, and the MAC matches under the key. Anyone holding the key can sign, so keep
it secret; a key shorter than :data:`MIN_KEY_BYTES` bytes is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

from recolab.errors import BundleError

#: Environment variable holding the signing / verification key (UTF-8 text).
KEY_ENV = "RECOLAB_BUNDLE_KEY"
#: Name of the signature member.
SIGNATURE_MEMBER = "signature.json"
SIGNATURE_FORMAT = "recolab-bundle-signature"
ALGORITHM = "hmac-sha256"
#: Shortest key accepted, in bytes.
MIN_KEY_BYTES = 16

SIGNED = "signed"
UNSIGNED = "unsigned"
SIGNED_UNVERIFIED = "signed, not verified (no key)"


def key_from_env() -> bytes | None:
    """The key in ``RECOLAB_BUNDLE_KEY`` as bytes, or ``None`` when unset or empty.

    Raises
    ------
    BundleError
        When the key is shorter than :data:`MIN_KEY_BYTES` bytes.
    """
    text = os.environ.get(KEY_ENV, "")
    return check_key(text.encode("utf-8")) if text else None


def check_key(key: bytes) -> bytes:
    """``key`` when it is long enough to sign with, else a :class:`BundleError`."""
    if len(key) < MIN_KEY_BYTES:
        raise BundleError(
            f"{KEY_ENV} is {len(key)} bytes long; a signing key needs at least "
            f"{MIN_KEY_BYTES} (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return key


def canonical_manifest(members: Mapping[str, str]) -> bytes:
    """The bytes the MAC covers: format, version, algorithm and every member's SHA-256."""
    body = {
        "format": SIGNATURE_FORMAT,
        "version": 1,
        "algorithm": ALGORITHM,
        "members": dict(sorted(members.items())),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def mac(key: bytes, members: Mapping[str, str]) -> str:
    """Hex HMAC-SHA256 of :func:`canonical_manifest` under ``key``."""
    return hmac.new(key, canonical_manifest(members), hashlib.sha256).hexdigest()


def signature_member(key: bytes, files: Mapping[str, bytes]) -> bytes:
    """The ``signature.json`` content for ``files`` (name → bytes, every other member)."""
    members = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    doc = {
        "format": SIGNATURE_FORMAT,
        "version": 1,
        "algorithm": ALGORITHM,
        "members": dict(sorted(members.items())),
        "mac": mac(check_key(key), members),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def _parse(data: bytes) -> tuple[dict[str, str], str]:
    """Members and MAC of a ``signature.json``; ``ValueError`` when malformed."""
    try:
        doc: Any = json.loads(data)
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    head = (doc.get("format"), doc.get("version"), doc.get("algorithm"))
    if head != (SIGNATURE_FORMAT, 1, ALGORITHM):
        raise ValueError(f"unknown signature format {head!r}")
    members, tag = doc.get("members"), doc.get("mac")
    ok = isinstance(members, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in members.items()
    )
    if not ok or not isinstance(tag, str):
        raise ValueError("members or mac missing or of the wrong type")
    return members, tag


def verify(
    signature: bytes | None, hashes: Mapping[str, str], key: bytes | None, require: bool
) -> str:
    """Check a bundle's signature; return :data:`SIGNED`, :data:`UNSIGNED` or
    :data:`SIGNED_UNVERIFIED`.

    Parameters
    ----------
    signature:
        The ``signature.json`` bytes, or ``None`` when the bundle has none.
    hashes:
        Name → SHA-256 of every other member, as measured while reading.
    key:
        The verification key; when given, a bundle that does not verify is always refused.
    require:
        Refuse unsigned bundles and bundles that cannot be verified (no key).

    Raises
    ------
    ValueError
        Why the bundle is refused (the caller names the bundle).
    """
    if signature is None:
        if key is not None or require:
            why = f"{KEY_ENV} is set" if key is not None else "a signature is required"
            raise ValueError(f"the bundle is not signed and {why}: refused")
        return UNSIGNED
    if key is None:
        if require:
            raise ValueError(f"a signature is required but {KEY_ENV} is not set to verify it")
        return SIGNED_UNVERIFIED
    try:
        members, tag = _parse(signature)
    except ValueError as exc:
        raise ValueError(f"signature.json is malformed: {exc}") from exc
    if set(members) != set(hashes):
        added = sorted(set(hashes) - set(members))
        missing = sorted(set(members) - set(hashes))
        raise ValueError(
            f"members differ from the signed ones (not signed: {added}, missing: {missing})"
        )
    if not hmac.compare_digest(mac(key, members), tag):
        raise ValueError("the signature does not match (tampered, or signed with another key)")
    changed = sorted(n for n in members if not hmac.compare_digest(members[n], hashes[n]))
    if changed:
        raise ValueError(f"member(s) {changed} changed after signing (tampered)")
    return SIGNED


def describe(status: str) -> str:
    """A one-line label of a signature status, for the dashboard and the CLI."""
    return {
        SIGNED: f"signed (HMAC-SHA256, verified with {KEY_ENV})",
        UNSIGNED: f"unsigned (set {KEY_ENV} to sign exports and refuse unsigned bundles)",
        SIGNED_UNVERIFIED: f"signed, not verified ({KEY_ENV} is not set)",
    }.get(status, status)
