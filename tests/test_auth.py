"""Sign-in (issue 8, point 9): password hashes, roles, the users file, throttling, and the gate.

The unit tests hash with cheap Argon2 parameters (the default costs ~0.3 s a hash here);
`test_default_hash_is_argon2id_with_the_library_defaults` checks the real parameters once.
The page is driven with streamlit.testing.AppTest; the same in Chromium, and what address the
server listens on, is tests/test_auth_browser.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from gapmap import auth, settings
from gapmap.errors import GapmapInputError

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
VIEWER_PW = "viewer-pass-1234"
ANALYST_PW = "analyst-pass-5678"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(auth, "_dummy", [])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- passwords and roles
def test_default_hash_is_argon2id_with_the_library_defaults(monkeypatch):
    monkeypatch.undo()  # the real hasher
    hashed = auth.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in hashed
    assert auth.verify_password(hashed, "correct horse battery")


def test_hash_and_verify():
    first = auth.hash_password("a long password")
    second = auth.hash_password("a long password")
    assert first != second  # salted
    assert auth.verify_password(first, "a long password") and auth.verify_password(second, "a long password")
    assert not auth.verify_password(first, "a long passwore")
    assert not auth.verify_password("not a hash", "a long password")
    assert not auth.verify_password(first, "x" * 10_000)  # never hashes megabytes


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "too short: use at least 10 characters"), ("x" * 257, "too long: use at most 256")],
)
def test_password_length_limits(password, message):
    with pytest.raises(GapmapInputError, match=message):
        auth.hash_password(password)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", {"view", "export"}),
        ("analyst", {"view", "export", "upload", "save", "compare"}),
        ("admin", set()),
        (None, set()),
    ],
)
def test_roles(role, allowed):
    actions = {"view", "export", "upload", "save", "compare"}
    assert {a for a in actions if auth.allows(role, a)} == allowed


def test_user_names():
    assert auth.check_username("  Sam.Jones ") == "sam.jones"
    for bad in ("", "../etc", "a b", "-x", "x" * 65, "é"):
        with pytest.raises(GapmapInputError, match="a user name is 1 to 64 letters"):
            auth.check_username(bad)


# ---------------------------------------------------------------- the users file
def test_users_file_is_written_owner_only_whatever_the_umask(tmp_path):
    path = tmp_path / "data" / "users.json"
    previous = os.umask(0)
    try:
        auth.add_user(path, "Sam", "analyst", ANALYST_PW)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text())
    assert data["format"] == 1
    [entry] = data["users"]
    assert entry["username"] == "sam" and entry["role"] == "analyst"
    assert entry["password_hash"].startswith("$argon2id$") and ANALYST_PW not in path.read_text()
    assert auth.load_users(path)["sam"].role == "analyst"


def test_add_replace_and_remove_users(tmp_path):
    path = tmp_path / "users.json"
    assert auth.load_users(path) == {}  # no file: no users
    auth.add_user(path, "sam", "viewer", VIEWER_PW)
    with pytest.raises(GapmapInputError, match="user `sam` already exists; add --replace"):
        auth.add_user(path, "SAM", "analyst", ANALYST_PW)
    auth.add_user(path, "sam", "analyst", ANALYST_PW, replace=True)
    user = auth.load_users(path)["sam"]
    assert user.role == "analyst" and auth.verify_password(user.password_hash, ANALYST_PW)
    with pytest.raises(GapmapInputError, match="unknown role `admin`; use one of: viewer, analyst"):
        auth.add_user(path, "kim", "admin", ANALYST_PW)
    with pytest.raises(GapmapInputError, match="there is no user `kim`; users: sam"):
        auth.remove_user(path, "kim")
    auth.remove_user(path, "Sam")
    assert auth.load_users(path) == {}


def entry(name="sam", role="viewer", password_hash="$argon2id$...") -> dict:
    return {"username": name, "role": role, "password_hash": password_hash}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "the users file is not valid JSON"),
        ({"users": {}}, 'the users file has no "users" list'),
        ({"users": ["sam"]}, "user entry 1 is not a record"),
        ({"users": [entry(name="../x")]}, "user entry 1 has no valid `username`"),
        (
            {"users": [entry(role="admin")]},
            "user `sam` (entry 1) has role 'admin', not one of viewer, analyst",
        ),
        (
            {"users": [entry(password_hash="hunter2")]},
            "user `sam` (entry 1) has no Argon2 `password_hash`; set a new password with "
            "`python -m gapmap users add sam --role viewer --replace`",
        ),
        ({"users": [entry(), entry()]}, "user `sam` appears twice (entry 2)"),
    ],
)
def test_bad_users_file_gives_a_clear_error(tmp_path, content, message):
    path = tmp_path / "users.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    with pytest.raises(GapmapInputError) as info:
        auth.load_users(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- throttling
def test_throttle_locks_after_five_failures_for_a_growing_time():
    clock = FakeClock()
    throttle = auth.SignInThrottle(clock=clock)
    for _ in range(4):
        throttle.record_failure("sam")
    assert throttle.locked_for("sam") == 0  # four free failures
    throttle.record_failure("sam")
    assert throttle.locked_for("sam") == 30  # 5th: 30 s
    clock.now += 29
    assert throttle.locked_for("sam") == 1
    clock.now += 1
    assert throttle.locked_for("sam") == 0
    throttle.record_failure("sam")
    assert throttle.locked_for("sam") == 60  # 6th: 30 x 2
    throttle.record_failure("sam")
    assert throttle.locked_for("sam") == 120  # 7th: 30 x 4
    for _ in range(10):
        throttle.record_failure("sam")
    assert throttle.locked_for("sam") == 900  # capped at 15 minutes
    assert throttle.locked_for("kim") == 0  # per user name
    throttle.record_success("sam")
    assert throttle.locked_for("sam") == 0


def test_throttle_memory_is_bounded():
    clock = FakeClock()
    throttle = auth.SignInThrottle(max_names=3, clock=clock)
    for _ in range(5):
        throttle.record_failure("locked")
    for name in ("a", "b", "c", "d"):
        throttle.record_failure(name)
    assert len(throttle._failures) <= 3
    assert throttle.locked_for("locked") == 30  # locked names are kept before unlocked ones


def test_sign_in_messages_do_not_reveal_who_exists():
    users = {"sam": auth.User("sam", "viewer", auth.hash_password(VIEWER_PW))}
    clock = FakeClock()
    throttle = auth.SignInThrottle(clock=clock)
    user, message = auth.sign_in(" SAM ", VIEWER_PW, users, throttle)
    assert user == users["sam"] and message == ""
    assert auth.sign_in("sam", "wrong password", users, throttle) == (None, auth.FAILED_MESSAGE)
    assert auth.sign_in("nobody", "wrong password", users, throttle) == (None, auth.FAILED_MESSAGE)
    for _ in range(3):
        auth.sign_in("sam", "wrong password", users, throttle)
        auth.sign_in("nobody", "wrong password", users, throttle)
    # the 5th failure locks both names alike: the message is the same for a real and an unknown user
    locked_sam = auth.sign_in("sam", "wrong password", users, throttle)
    locked_nobody = auth.sign_in("nobody", "wrong password", users, throttle)
    assert locked_sam == locked_nobody == (None, auth.locked_message(30))
    assert "Too many failed sign-ins with this user name. Try again in 1 minute" in locked_sam[1]
    # during the lock-out the right password is refused too
    assert auth.sign_in("sam", VIEWER_PW, users, throttle) == (None, auth.locked_message(30))
    clock.now += 31
    assert auth.sign_in("sam", VIEWER_PW, users, throttle)[0] == users["sam"]


# ---------------------------------------------------------------- when sign-in is required
@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("", False),  # Streamlit then listens on every interface
        (None, False),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("meeting-room-pc", False),
    ],
)
def test_is_loopback(address, loopback):
    assert auth.is_loopback(address) is loopback


def test_access_policy(tmp_path):
    users_file = tmp_path / "users.json"
    local = auth.access_policy("127.0.0.1", users_file)
    assert (local.sign_in, local.refusal) == (False, "")
    open_room = auth.access_policy("0.0.0.0", users_file)
    assert open_room.sign_in and open_room.refusal.startswith(
        "gapmap is served beyond this computer (server.address = 0.0.0.0) but no users are set up, "
        "so nothing is shown. Add one with `python -m gapmap users add NAME --role analyst`"
    )
    assert "every interface" in auth.access_policy(None, users_file).refusal
    assert (
        "sign-in is required (GAPMAP_SIGN_IN)"
        in auth.access_policy("127.0.0.1", users_file, required=True).refusal
    )
    auth.add_user(users_file, "sam", "viewer", VIEWER_PW)
    for address in ("127.0.0.1", "0.0.0.0"):
        policy = auth.access_policy(address, users_file)
        assert (policy.sign_in, policy.refusal, list(policy.users)) == (True, "", ["sam"])
    users_file.write_text("{broken", encoding="utf-8")
    broken = auth.access_policy("127.0.0.1", users_file)  # fails closed even on loopback
    assert broken.sign_in and "Sign-in is not available, so nothing is shown" in broken.refusal


# ---------------------------------------------------------------- configuration agrees
def test_streamlit_upload_limit_matches_gapmaps():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    # Streamlit's MB is 1024 x 1024 bytes (starlette_routes: maxUploadSize * 1024 * 1024)
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == settings.MAX_INPUT_BYTES == 20 * 1024 * 1024


def test_default_bind_address_is_loopback():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    run_recipe = re.search(r"^run:.*\n\t(.+)$", makefile, re.MULTILINE).group(1)
    assert "--server.address 127.0.0.1" in run_recipe


# ---------------------------------------------------------------- the CLI
def test_cli_users_add_list_remove(tmp_path, capsys, monkeypatch):
    from gapmap.cli import main

    path = tmp_path / "users.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(VIEWER_PW + "\n"))
    assert main(["users", "add", "Sam", "--role", "viewer", "--password-stdin", "--file", str(path)]) == 0
    assert "Added sam (viewer)" in capsys.readouterr().out
    assert auth.verify_password(auth.load_users(path)["sam"].password_hash, VIEWER_PW)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": ANALYST_PW)
    assert main(["users", "add", "kim", "--role", "analyst", "--file", str(path)]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--file", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["kim\tanalyst", "sam\tviewer"]
    assert main(["users", "remove", "sam", "--file", str(path)]) == 0
    assert list(auth.load_users(path)) == ["kim"]
    assert main(["users", "remove", "sam", "--file", str(path)]) == 1
    assert "there is no user `sam`; users: kim" in capsys.readouterr().err


def test_cli_users_add_refuses_mismatched_or_short_passwords(tmp_path, capsys, monkeypatch):
    from gapmap.cli import main

    path = tmp_path / "users.json"
    answers = iter([ANALYST_PW, VIEWER_PW])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["users", "add", "kim", "--role", "analyst", "--file", str(path)]) == 1
    assert "the two passwords differ; nothing was changed" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "kim", "--role", "analyst", "--password-stdin", "--file", str(path)]) == 1
    assert "too short" in capsys.readouterr().err
    assert not path.exists()


def test_cli_users_default_file_is_the_setting(tmp_path, capsys, monkeypatch):
    from gapmap.cli import main

    monkeypatch.setattr(settings, "USERS_FILE", tmp_path / "default_users.json")
    monkeypatch.setattr("sys.stdin", io.StringIO(VIEWER_PW + "\n"))
    assert main(["users", "add", "sam", "--role", "viewer", "--password-stdin"]) == 0
    assert list(auth.load_users(tmp_path / "default_users.json")) == ["sam"]


# ---------------------------------------------------------------- the page (AppTest)
@pytest.fixture
def served_to_the_room():
    """The app as if started with --server.address 0.0.0.0 (restored afterwards)."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", before)


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    auth.add_user(path, "vic", "viewer", VIEWER_PW)
    auth.add_user(path, "ana", "analyst", ANALYST_PW)
    monkeypatch.setattr(settings, "USERS_FILE", path)
    return path


def start() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button(key="FormSubmitter:sign_in_form-Sign in").click().run()
    assert not at.exception, at.exception
    return at


def test_served_beyond_loopback_without_users_shows_nothing(served_to_the_room):
    at = start()
    assert [t.value for t in at.title] == ["gapmap"]
    [error] = at.error
    assert "served beyond this computer (server.address = 0.0.0.0) but no users are set up" in error.value
    assert not at.tabs and not at.dataframe and not at.metric and not at.selectbox  # nothing else


def test_served_beyond_loopback_asks_for_sign_in_first(served_to_the_room, users):
    at = start()
    assert [t.value for t in at.title] == ["gapmap: sign in"]
    assert not at.tabs and not at.dataframe and not at.metric and not at.selectbox
    sign_in(at, "vic", "wrong password")
    assert [e.value for e in at.error] == [auth.FAILED_MESSAGE]
    assert [t.value for t in at.title] == ["gapmap: sign in"]
    sign_in(at, "vic", VIEWER_PW)
    assert at.title[0].value == "Fenmarsh (fictional demo county)"


def test_viewer_sees_maps_and_tables_but_cannot_upload_save_or_compare(users):
    from gapmap.storage import save_version

    demo = settings.DEMO_SERVICES.read_bytes()
    save_version(demo, "one.csv", row_count=60)
    save_version(demo.replace(b"FEN-022", b"FEN-099"), "two.csv", row_count=60)
    at = sign_in(start(), "vic", VIEWER_PW)
    assert any("Signed in as **vic** (viewer)" in m.value for m in at.sidebar.markdown)
    assert at.tabs  # the page itself
    # even if upload state appeared in the session, a viewer's page drops it
    at.session_state["tab"] = "Services"
    at.session_state["upload_content"] = demo
    at.session_state["upload_name"] = "sneaky.csv"
    at.run()
    assert not at.exception, at.exception
    assert not at.get("file_uploader")
    assert not [b for b in at.button if b.key == "save_version"]
    assert not [s for s in at.selectbox if s.key in ("compare_old", "compare_new")]
    assert "upload_content" not in at.session_state
    assert not any("Uploaded, not saved" in o for o in at.selectbox(key="dataset_choice").options)
    assert any("need an analyst" in i.value for i in at.info)
    assert any("Version" in df.value.columns for df in at.dataframe)  # the saved list is visible
    at.session_state["tab"] = "Export"
    at.run()
    assert [b for b in at.button if b.key == "prepare_csv"]  # exports are a viewer's


def test_analyst_may_upload_and_compare(users):
    from gapmap.storage import save_version

    demo = settings.DEMO_SERVICES.read_bytes()
    save_version(demo, "one.csv", row_count=60)
    save_version(demo.replace(b"FEN-022", b"FEN-099"), "two.csv", row_count=60)
    at = sign_in(start(), "ana", ANALYST_PW)
    at.session_state["tab"] = "Services"
    at.run()
    assert at.get("file_uploader")
    assert [s for s in at.selectbox if s.key == "compare_old"]


def test_sign_in_is_throttled_on_the_page(users):
    at = start()
    for _ in range(4):
        sign_in(at, "vic", "wrong password")
        assert [e.value for e in at.error] == [auth.FAILED_MESSAGE]
    sign_in(at, "vic", "wrong password")
    assert "Too many failed sign-ins with this user name" in at.error[0].value
    sign_in(at, "vic", VIEWER_PW)  # the right password during the lock-out
    assert "Too many failed sign-ins" in at.error[0].value
    assert [t.value for t in at.title] == ["gapmap: sign in"]
    # the lock-out is kept by the server, not the browser session: a new session is locked too
    fresh = sign_in(start(), "vic", VIEWER_PW)
    assert "Too many failed sign-ins" in fresh.error[0].value


def test_sign_out_and_a_removed_user(users):
    at = sign_in(start(), "ana", ANALYST_PW)
    at.sidebar.button(key="sign_out").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["gapmap: sign in"]
    at = sign_in(start(), "ana", ANALYST_PW)
    auth.remove_user(users, "ana")
    at.run()  # the users file is read at every run
    assert [t.value for t in at.title] == ["gapmap: sign in"]


def test_damaged_users_file_fails_closed(users):
    users.write_text('{"users": [{"username": "x"}]}', encoding="utf-8")
    at = start()
    assert "Sign-in is not available, so nothing is shown" in at.error[0].value
    assert not at.tabs and not at.text_input
