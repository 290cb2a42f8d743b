"""The desk's guards: the staff password, sessions, CSRF tokens, request limits and security headers.

- The staff password is stored hashed with scrypt (hashlib, the standard library's memory-hard KDF, with a
  random salt), in a small JSON file beside the ledger; `ictplan serve --set-password` writes it atomically.
  It is only asked for when the desk serves the network (`--host`): on 127.0.0.1 whoever uses this PC is staff.
- A staff session is a random token held in this process's memory (a restart logs everyone out) and in an
  HttpOnly, SameSite=Strict cookie.
- Every POST carries a CSRF token equal to a random cookie of its own (double submit); with SameSite=Strict
  another site can neither read nor send it. The Origin header, when a browser sends one, must be ours.
- The Host header must be one the desk serves (a DNS-rebinding page cannot reach 127.0.0.1 through its name).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # OWASP's minimum for scrypt: ~50 ms and 16 MB a check
SESSION_SECONDS = 12 * 3600  # a working day
SESSION_COOKIE = "ictplan_session"
CSRF_COOKIE = "ictplan_csrf"
CSRF_FIELD = "csrf"
MIN_PASSWORD = 8

HEADERS = {
    # Everything is ours: no CDN, no inline script, no frames, no form posted elsewhere.
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # (no-referrer would make browsers send "Origin: null" with our own forms)
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}


class PasswordError(ValueError):
    """The password is too short to be used."""

    def __init__(self, minimum: int) -> None:
        super().__init__(f"at least {minimum} characters")
        self.minimum = minimum


def hash_password(password: str) -> dict[str, Any]:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, maxmem=64 * 1024 * 1024, **SCRYPT)
    return {"kdf": "scrypt", **SCRYPT, "salt": salt.hex(), "hash": digest.hex()}


def verify_password(password: str, stored: dict[str, Any]) -> bool:
    try:
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(stored["salt"]), dklen=32,
                                n=int(stored["n"]), r=int(stored["r"]), p=int(stored["p"]),
                                maxmem=64 * 1024 * 1024)
        return hmac.compare_digest(digest, bytes.fromhex(stored["hash"]))
    except (KeyError, ValueError, TypeError):
        return False


def store_password(path: Path, password: str) -> None:
    """Store the staff password's hash at `path` (atomically, readable by this user only)."""
    from pipeline.atomic import write_atomic

    if len(password) < MIN_PASSWORD:
        raise PasswordError(MIN_PASSWORD)
    written = write_atomic(path, json.dumps(hash_password(password)).encode("utf-8"))
    written.chmod(0o600)


def load_password(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kdf") == "scrypt" else None


class Sessions:
    """Staff sessions: token → expiry time, in memory."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def open(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + SESSION_SECONDS
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and expiry > time.monotonic()

    def close(self, token: str | None) -> None:
        with self._lock:
            self._expiry.pop(token or "", None)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie) and bool(submitted) and hmac.compare_digest(str(cookie), str(submitted))


def origin_ok(origin: str | None, host: str | None) -> bool:
    """A browser's Origin, when it sends one, names the host the request was sent to."""
    if not origin:
        return True
    if origin == "null" or not host:
        return False
    return origin.split("://", 1)[-1].rstrip("/") == host
