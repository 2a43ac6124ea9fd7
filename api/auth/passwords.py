"""Password hashing (argon2id) and the minimum password policy.

Verifying against an unknown user still runs one argon2 verification (against a dummy hash), so
the time a failed sign-in takes does not tell whether the user name exists.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024


class WeakPassword(ValueError):
    """The password does not meet the policy (the message says why, in Vietnamese)."""


def check_strength(password: str, username: str = "") -> None:
    """Refuse passwords that are short, absurdly long or the user name itself."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"mật khẩu quá ngắn: cần ít nhất {MIN_LENGTH} ký tự")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"mật khẩu quá dài: tối đa {MAX_LENGTH} ký tự")
    if username and password.strip().lower() == username.lower():
        raise WeakPassword("mật khẩu không được trùng tên đăng nhập")


class Passwords:
    """An argon2 hasher plus the dummy hash used to even out timing; keep one per process."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    @functools.cached_property
    def _dummy(self) -> str:
        return self.hasher.hash("diemnong-dummy-password")

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``; ``None`` (no such user) is always False."""
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with weaker parameters than the current ones."""
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
