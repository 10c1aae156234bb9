"""Sign-in in a real browser, and what the server listens on (issue 8, point 9 acceptance).

Reuses tests/test_e2e_browser.py's server and Chromium helpers (Debian's /usr/bin/chromium via
Playwright, offline). The sign-in test serves on 127.0.0.1 with a users file, which turns
sign-in on exactly as serving to a room does (tests/test_auth.py checks that a non-loopback
address without users shows nothing); binding 0.0.0.0 here would open the test server to the
network. The last test starts the app as `make run` does with no --server.address at all,
so only the repository's .streamlit/config.toml decides, and reads /proc/net/tcp{,6}.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from test_e2e_browser import open_page, require_browser, running_app, wait_for_map

from gapmap import auth

pytestmark = pytest.mark.browser

VIEWER_PW = "viewer-pass-1234"
ANALYST_PW = "analyst-pass-5678"
LOCKED = "Too many failed sign-ins with this user name"


def sign_in(page, base: str, name: str, password: str) -> None:
    """A fresh page (a new browser session each time), then the sign-in form."""
    page.goto(base, wait_until="domcontentloaded", timeout=90_000)
    page.get_by_label("User name").fill(name, timeout=90_000)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_viewer_cannot_upload_or_save_wrong_passwords_are_throttled_analyst_can_upload(tmp_path):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    users = tmp_path / "users.json"
    auth.add_user(users, "vic", "viewer", VIEWER_PW)
    auth.add_user(users, "ana", "analyst", ANALYST_PW)
    env = {"GAPMAP_USERS_FILE": str(users), "GAPMAP_DATA_DIR": str(tmp_path)}
    with running_app(env=env) as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            # Before signing in: the form and nothing else.
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            page.get_by_role("button", name="Sign in").wait_for(timeout=90_000)
            assert page.locator("iframe").count() == 0 and page.get_by_role("tab").count() == 0

            # A viewer sees the map, but no uploader and no save button.
            sign_in(page, base, "vic", VIEWER_PW)
            wait_for_map(page, min_paths=9)
            page.get_by_text("Signed in as").first.wait_for(timeout=30_000)
            page.get_by_role("tab", name="Services").click()
            page.get_by_text("need an analyst", exact=False).first.wait_for(timeout=60_000)
            page.get_by_text("Saved versions").first.wait_for(timeout=30_000)
            assert page.locator("input[type='file']").count() == 0
            assert page.get_by_role("button", name="Save as new version").count() == 0
            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)

            # Wrong passwords, each from a new session: the lock-out is kept by the server.
            for _ in range(4):
                sign_in(page, base, "vic", "not the password")
                page.get_by_text(auth.FAILED_MESSAGE).wait_for(timeout=60_000)
            sign_in(page, base, "vic", "not the password")
            page.get_by_text(LOCKED, exact=False).wait_for(timeout=60_000)
            # The right password during the lock-out is refused too.
            sign_in(page, base, "vic", VIEWER_PW)
            page.get_by_text(LOCKED, exact=False).wait_for(timeout=60_000)
            assert page.get_by_role("tab").count() == 0 and page.locator("iframe").count() == 0

            # An analyst (another name, not locked) gets the uploader.
            sign_in(page, base, "ana", ANALYST_PW)
            wait_for_map(page, min_paths=9)
            page.get_by_role("tab", name="Services").click()
            page.locator("input[type='file']").wait_for(state="attached", timeout=60_000)
        finally:
            context.close()
            browser.close()


# ---------------------------------------------------------------- what the server listens on
def _ipv4(hex_address: str) -> str:
    return str(ipaddress.IPv4Address(bytes.fromhex(hex_address)[::-1]))


def _ipv6(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    return str(ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))))


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket in LISTEN on `port`, from /proc/net/tcp and tcp6."""
    found = set()
    for table, decode in (("/proc/net/tcp", _ipv4), ("/proc/net/tcp6", _ipv6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(decode(address))
    return found


def non_loopback_address() -> str | None:
    """One of this machine's own non-loopback IPv4 addresses, when it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent by a UDP connect
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def test_by_default_the_server_listens_on_127_0_0_1_only(tmp_path):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("/proc/net/tcp is Linux-only")
    # As `make run` / `streamlit run app.py`: no --server.address, the repository's config decides
    # (running_app also drops any STREAMLIT_SERVER_ADDRESS from the environment).
    with running_app(env={"GAPMAP_DATA_DIR": str(tmp_path)}, address=None) as base:
        port = int(base.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"127.0.0.1"}
        other = non_loopback_address()
        if other is not None:  # and from the machine's own network address, nothing answers
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=3).close()


def test_proc_net_tcp_addresses_decode():
    # /proc/net/tcp{,6} write addresses as little-endian 32-bit words in hex
    assert _ipv4("0100007F") == "127.0.0.1"
    assert _ipv4("00000000") == "0.0.0.0"
    assert _ipv4("1401A8C0") == "192.168.1.20"
    assert _ipv6("00000000000000000000000001000000") == "::1"
    assert _ipv6("00000000000000000000000000000000") == "::"
