"""Sign-in for gapmap served beyond this computer: users, roles, password hashes, throttling.

Who may do what is data (`PERMISSIONS`): a **viewer** sees maps and tables and takes exports;
an **analyst** may also upload a service list, save it as a version and compare versions.

The users file (default `settings.USERS_FILE`, JSON, written 0600)::

    {"format": 1, "users": [{"username": "sam", "role": "analyst",
                             "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$..."}]}

Passwords are hashed with Argon2id (argon2-cffi); only the hash is stored. Failed sign-ins are
counted per user name in this process (`SignInThrottle`), never in the browser's session,
and the messages are the same whether or not the user exists. No streamlit import here:
app.py draws the form and calls `access_policy` and `sign_in`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gapmap.errors import GapmapInputError
from gapmap.fileio import write_atomic

#: Roles in increasing order of what they may do.
ROLES: tuple[str, ...] = ("viewer", "analyst")
#: What each role may do in the app. "view": maps, tables, the saved versions' list;
#: "export": downloads; "upload", "save", "compare": service lists and versions.
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view", "export"}),
    "analyst": frozenset({"view", "export", "upload", "save", "compare"}),
}
#: The role in force when sign-in is off (gapmap on 127.0.0.1 for the person at the keyboard).
LOCAL_ROLE = "analyst"

USERS_FORMAT = 1
MIN_PASSWORD_LENGTH = 10
#: Longer passwords are refused: hashing megabytes would be a cheap way to load the server.
MAX_PASSWORD_LENGTH = 256
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

FAILED_MESSAGE = "Sign-in failed: the user name or the password is wrong."

_hasher = PasswordHasher()  # Argon2id with the library's RFC 9106 defaults


@dataclass(frozen=True)
class User:
    """One person who may sign in."""

    username: str
    role: str
    password_hash: str


# ---------------------------------------------------------------- names, roles, passwords
def normalise_username(name: str) -> str:
    """The form a user name is stored and looked up in (trimmed, lower case)."""
    return (name or "").strip().lower()


def check_username(name: str) -> str:
    """The normalised name, or GapmapInputError saying what a user name may contain."""
    normal = normalise_username(name)
    if not _USERNAME.fullmatch(normal):
        raise GapmapInputError(
            "a user name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(got {len(normal)} character(s) that do not fit)",
            file="user name",
        )
    return normal


def check_role(role: str) -> str:
    if role not in ROLES:
        raise GapmapInputError(f"unknown role `{role}`; use one of: {', '.join(ROLES)}", file="role")
    return role


def allows(role: str | None, action: str) -> bool:
    """True when `role` may do `action` ("view", "export", "upload", "save", "compare")."""
    return action in PERMISSIONS.get(role or "", frozenset())


def hash_password(password: str) -> str:
    """An Argon2id hash of `password` (salted; the password itself is never stored)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise GapmapInputError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters", file="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise GapmapInputError(
            f"the password is too long: use at most {MAX_PASSWORD_LENGTH} characters", file="password"
        )
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches `password_hash`; False for a wrong password or a bad hash."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy: list[str] = []


def _dummy_hash() -> str:
    """A hash to check unknown names against, so they take as long as known ones."""
    if not _dummy:
        _dummy.append(_hasher.hash("gapmap-no-such-user"))
    return _dummy[0]


# ---------------------------------------------------------------- the users file
def load_users(path: Path | str) -> dict[str, User]:
    """The users in `path` by user name; {} when the file does not exist.

    Raises
    ------
    GapmapInputError
        When the file exists but cannot be used (not JSON, wrong shape, a bad entry): the
        message names the entry and what to do. Callers must then refuse to serve.
    """
    path = Path(path)
    where = str(path)
    fix = "fix it, or remove it and add the users again with `python -m gapmap users add`"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise GapmapInputError(f"the users file cannot be read ({exc}); {fix}", file=where) from exc
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise GapmapInputError(
            f"the users file is not valid JSON ({str(exc)[:80]}); {fix}", file=where
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("users"), list):
        raise GapmapInputError(f'the users file has no "users" list; {fix}', file=where)
    users: dict[str, User] = {}
    for index, entry in enumerate(data["users"], start=1):
        if not isinstance(entry, dict):
            raise GapmapInputError(f"user entry {index} is not a record; {fix}", file=where)
        name, role, hashed = entry.get("username"), entry.get("role"), entry.get("password_hash")
        if not isinstance(name, str) or not _USERNAME.fullmatch(name):
            raise GapmapInputError(f"user entry {index} has no valid `username`; {fix}", file=where)
        if role not in ROLES:
            raise GapmapInputError(
                f"user `{name}` (entry {index}) has role {str(role)[:20]!r}, not one of {', '.join(ROLES)}; "
                f"{fix}",
                file=where,
            )
        if not isinstance(hashed, str) or not hashed.startswith("$argon2"):
            raise GapmapInputError(
                f"user `{name}` (entry {index}) has no Argon2 `password_hash`; set a new password with "
                f"`python -m gapmap users add {name} --role {role} --replace`",
                file=where,
            )
        if name in users:
            raise GapmapInputError(f"user `{name}` appears twice (entry {index}); {fix}", file=where)
        users[name] = User(name, role, hashed)
    return users


def save_users(path: Path | str, users: Mapping[str, User]) -> Path:
    """Write the users file atomically, readable and writable by its owner only (0600)."""
    data = {
        "format": USERS_FORMAT,
        "users": [
            {"username": u.username, "role": u.role, "password_hash": u.password_hash}
            for u in sorted(users.values(), key=lambda u: u.username)
        ],
    }
    return write_atomic(Path(path), json.dumps(data, indent=2) + "\n", mode=0o600)


def add_user(path: Path | str, name: str, role: str, password: str, *, replace: bool = False) -> User:
    """Add a user (or, with `replace`, give an existing one a new role and password)."""
    name, role = check_username(name), check_role(role)
    users = load_users(path)
    if name in users and not replace:
        raise GapmapInputError(
            f"user `{name}` already exists; add --replace to set a new password and role", file=str(path)
        )
    users[name] = User(name, role, hash_password(password))
    save_users(path, users)
    return users[name]


def remove_user(path: Path | str, name: str) -> None:
    name = normalise_username(name)
    users = load_users(path)
    if name not in users:
        known = ", ".join(sorted(users)) or "none"
        raise GapmapInputError(f"there is no user `{name}`; users: {known}", file=str(path))
    del users[name]
    save_users(path, users)


# ---------------------------------------------------------------- throttling
class SignInThrottle:
    """Failed sign-ins counted per user name; after `free_failures`, a growing lock-out.

    The first `free_failures` failures cost nothing; each one after that locks the name for
    `base_lockout_s` x 2^(failures - free_failures), at most `max_lockout_s`. A success
    clears the count. Names that do not exist are counted the same way, so the lock-out
    does not reveal who has an account. Kept in the server process, shared by every
    browser session; `clock` is injectable for tests.
    """

    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_lockout_s: float = 30.0,
        max_lockout_s: float = 15 * 60.0,
        max_names: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.base_lockout_s = base_lockout_s
        self.max_lockout_s = max_lockout_s
        self.max_names = max_names
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (failures, locked until)
        self._lock = threading.Lock()

    def locked_for(self, name: str) -> float:
        """Seconds until `name` may try again (0 when it may now)."""
        with self._lock:
            _, until = self._failures.get(name, (0, 0.0))
            return max(until - self.clock(), 0.0)

    def record_failure(self, name: str) -> None:
        with self._lock:
            now = self.clock()
            if name not in self._failures and len(self._failures) >= self.max_names:
                self._forget_oldest(now)
            failures = self._failures.get(name, (0, 0.0))[0] + 1
            until = 0.0
            if failures >= self.free_failures:
                wait = self.base_lockout_s * 2 ** (failures - self.free_failures)
                until = now + min(wait, self.max_lockout_s)
            self._failures[name] = (failures, until)

    def record_success(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()

    def _forget_oldest(self, now: float) -> None:
        """Bound memory against sign-ins under endless made-up names: drop unlocked names first."""
        for key in [k for k, (_, until) in self._failures.items() if until <= now]:
            del self._failures[key]
        while len(self._failures) >= self.max_names:
            del self._failures[next(iter(self._failures))]


#: The server's one throttle (module state lives as long as the Streamlit process).
THROTTLE = SignInThrottle()


def locked_message(seconds: float) -> str:
    minutes = max(1, int(-(-seconds // 60)))
    return (
        "Too many failed sign-ins with this user name. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or ask whoever runs gapmap to check the account."
    )


def sign_in(
    name: str, password: str, users: Mapping[str, User], throttle: SignInThrottle = THROTTLE
) -> tuple[User | None, str]:
    """(user, "") when the name and password match; otherwise (None, a message to show).

    During a lock-out even the right password is refused and nothing is checked.
    """
    key = normalise_username(name)[:64]
    wait = throttle.locked_for(key)
    if wait > 0:
        return None, locked_message(wait)
    user = users.get(key)
    matched = verify_password(user.password_hash if user else _dummy_hash(), password or "")
    if user is not None and matched:
        throttle.record_success(key)
        return user, ""
    throttle.record_failure(key)
    wait = throttle.locked_for(key)
    return None, locked_message(wait) if wait > 0 else FAILED_MESSAGE


# ---------------------------------------------------------------- when sign-in is required
def is_loopback(address: str | None) -> bool:
    """True when a server bound to `address` can be reached from this computer only.

    Streamlit binds every interface when server.address is empty, so that is not loopback;
    nor is a host name other than "localhost" (it may resolve to any interface).
    """
    text = (address or "").strip().strip("[]")
    if not text:
        return False
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AccessPolicy:
    """What the page must do before showing anything.

    Attributes
    ----------
    sign_in
        Sign-in is required.
    refusal
        When not empty, show only this message: serving is not safe as configured.
    users
        The users who may sign in.
    """

    sign_in: bool
    refusal: str
    users: Mapping[str, User]


def access_policy(address: str | None, users_file: Path | str, *, required: bool = False) -> AccessPolicy:
    """Whether sign-in is needed, and whether to refuse outright (fail closed).

    Sign-in is required when the server is bound beyond loopback, when `required` is set
    (GAPMAP_SIGN_IN, e.g. behind a reverse proxy on this machine) or when users exist.
    Required with no users, or with a users file that cannot be read, means refuse.
    """
    try:
        users = load_users(users_file)
    except GapmapInputError as exc:
        return AccessPolicy(True, f"Sign-in is not available, so nothing is shown. {exc.problems[0]}", {})
    beyond = not is_loopback(address)
    needed = beyond or required or bool(users)
    if needed and not users:
        why = (
            f"gapmap is served beyond this computer (server.address = {address or 'every interface'})"
            if beyond
            else "sign-in is required (GAPMAP_SIGN_IN)"
        )
        return AccessPolicy(
            True,
            f"{why} but no users are set up, so nothing is shown. Add one with "
            f"`python -m gapmap users add NAME --role analyst` (users file: {users_file}) and reload "
            "this page, or serve on 127.0.0.1 only with `make run`.",
            {},
        )
    return AccessPolicy(needed, "", users)
