"""Sign-in, sessions, CSRF on the login form, rate limits, cookie attributes (units and over real HTTP)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import traceback
from datetime import timedelta

import httpx
import pytest

from handlers.review.web import signin_next
from tests.helpers import TEST_REVIEWER
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    add_review_item,
    hidden,
    seed_reference,
    sign_in,
)
from worker.auth import (
    ReviewUsersError,
    bearer_ok,
    client_address,
    csrf_for,
    csrf_ok,
    parse_review_users,
    reviewers,
    sign,
    unsign,
)
from worker.env import utcnow
from worker.passwords import hash_password

# Shaped as `worker hash-password` writes it: 16-byte salt, 32-byte digest, unpadded base64url.
HASH = f"scrypt$16384$8$1${base64.urlsafe_b64encode(b'salt' * 4).rstrip(b'=').decode()}$" \
       f"{base64.urlsafe_b64encode(b'hash' * 8).rstrip(b'=').decode()}"


def test_parse_review_users_names_the_bad_entry():
    assert parse_review_users(f"mike:{HASH}, ann:{HASH}") == {"mike": HASH, "ann": HASH}
    assert parse_review_users("") == {}
    assert parse_review_users(f"Mike.O-Neil_2@gfs:{HASH}") == {"Mike.O-Neil_2@gfs": HASH}  # what the message allows
    for text, message in [("mike", "entry 1: expected name:hash"), (f"mike:{HASH},ann:plaintext", "entry 2 (ann)"),
                          (f"mike:{HASH},mike:{HASH}", "listed twice"), (f"mi ke:{HASH}", "characters other than a-z A-Z 0-9 . _ - @")]:
        with pytest.raises(ReviewUsersError, match=re.escape(message)) as caught:
            parse_review_users(text)
        assert HASH not in str(caught.value)


def test_a_name_sign_in_would_cut_short_is_refused_at_startup():
    # Sign-in reads 64 characters of the name typed: a longer configured name could never sign in.
    longest = "ar-operations-lead." + "x" * 27 + "@gfs-foods.example"
    assert len(longest) == 64 and parse_review_users(f"{longest}:{HASH}") == {longest: HASH}
    with pytest.raises(ReviewUsersError, match=re.escape(f"entry 2 ({longest}x): the name is longer than 64")) as caught:
        parse_review_users(f"ann:{HASH},{longest}x:{HASH}")
    assert HASH not in str(caught.value)


def _with(encoded: str, **parts: str) -> str:
    """encoded with some of its fields (n, r, p, salt, digest) replaced."""
    fields = dict(zip(("scheme", "n", "r", "p", "salt", "digest"), encoded.split("$"), strict=True))
    return "$".join({**fields, **parts}.values())


@pytest.mark.parametrize("damage", [
    lambda h: h[:-1], lambda h: h[:-2], lambda h: h + "A",  # digest cut short or grown: not 32 bytes
    lambda h: _with(h, n="1638"), lambda h: _with(h, n="16385"), lambda h: _with(h, n="1"), lambda h: _with(h, n="0"),
    lambda h: _with(h, r="0"), lambda h: _with(h, p="0"), lambda h: _with(h, r="-8"), lambda h: _with(h, p="1.0"),
    lambda h: _with(h, n="9" * 5000),  # int() of it would raise ValueError, not ReviewUsersError
    lambda h: _with(h, n=str(2**15)),  # 32 MiB and a bit: more than OpenSSL's scrypt will allocate
    lambda h: _with(h, p="1000"),  # within the memory limit, but 41 s of work for every sign-in
    lambda h: _with(h, salt=""), lambda h: _with(h, salt="c2Fsd"), lambda h: _with(h, salt="c2Fs+A"),
    lambda h: _with(h, digest=h.split("$")[5][:-1] + "!"), lambda h: h.replace("scrypt$", "scrypt$$", 1),
], ids=["cut-1", "cut-2", "grown", "n-typo", "n-odd", "n-1", "n-0", "r-0", "p-0", "r-negative", "p-float",
        "n-5000-digits", "n-over-memory", "p-1000", "salt-empty", "salt-not-base64", "salt-plus", "digest-bang", "extra-field"])
def test_a_damaged_hash_is_refused_at_startup_naming_the_user_not_the_hash(damage):
    # A hash damaged in transit used to pass (prefix and five `$` checked), then refuse every password.
    good = hash_password("pw-correct-123")
    assert parse_review_users(f"ann:{good}") == {"ann": good}
    damaged = damage(good)
    with pytest.raises(ReviewUsersError, match=re.escape("entry 1 (ann): not a hash from `worker hash-password`")) as caught:
        parse_review_users(f"ann:{damaged}")
    assert damaged not in str(caught.value) and good.split("$")[4] not in str(caught.value)


@pytest.mark.parametrize(("n", "r", "p", "runs"), [
    (2**14, 8, 1, True), (2**15, 8, 1, False),  # 16 MiB; 32 MiB and a bit, over OpenSSL's limit
    (2**15, 1, 1, True), (2**16, 1, 1, False),  # OpenSSL also wants n < 2 ** (16 * r)
    (2**13, 16, 1, True), (2**14, 16, 1, False), (2, 1, 1, True), (4, 1, 4096, True),
    (2**14, 8, 16, True), (2**14, 8, 17, None),  # scrypt runs p=17, in ~1 s: startup refuses more than 16x our work
])
def test_the_costs_accepted_are_the_costs_scrypt_runs(n, r, p, runs):
    # Startup must agree with hashlib.scrypt as verify_password calls it (default memory limit), and refuse
    # (None) what it runs too slowly for a sign-in.
    try:
        hashlib.scrypt(b"pw", salt=b"salt" * 4, n=n, r=r, p=p, dklen=32)
    except ValueError:
        assert not runs
    else:
        assert runs is not False
    encoded = _with(HASH, n=str(n), r=str(r), p=str(p))
    if runs:
        assert parse_review_users(f"ann:{encoded}") == {"ann": encoded}
    else:
        with pytest.raises(ReviewUsersError, match=re.escape("entry 1 (ann): not a hash")):
            parse_review_users(f"ann:{encoded}")


def test_signatures_and_csrf_tokens():
    key, other = b"k" * 32, b"o" * 32
    token = sign(key, "abc")
    assert unsign(key, token) == "abc"
    assert unsign(other, token) is None and unsign(key, token + "x") is None and unsign(key, "abc") is None
    assert unsign(key, sign(key, "abc", "notice")) is None  # a notice cookie is not a session cookie
    assert csrf_ok(csrf_for(key, "s1"), csrf_for(key, "s1"))
    assert not csrf_ok(csrf_for(key, "s1"), csrf_for(key, "s2")) and not csrf_ok(csrf_for(key, "s1"), None)


def test_the_csrf_token_is_not_the_session_cookie_s_signature():
    # The CSRF token sits in every page's HTML: were it the cookie's signature, a page leaked (cache, screenshot,
    # a copy sent to support) would hand over the httponly session cookie, whose value is `sid.signature`.
    key = b"k" * 32
    assert csrf_for(key, "s1") != sign(key, "s1").rpartition(".")[2]


def test_the_page_s_csrf_token_is_not_the_session_cookie_s_signature(server):
    client = sign_in(server.url)
    sid, _, signature = client.cookies["gfs_review"].rpartition(".")
    assert client.csrf and client.csrf != signature and sid not in client.csrf


def test_dev_reviewer_only_in_dev(make_env, capsys):
    from worker.config import Secrets

    dev = make_env(dev=True)
    dev.secrets = Secrets()
    assert list(reviewers(dev)) == ["dev"]
    assert "reviewer: dev / " in capsys.readouterr().out
    prod = make_env()
    prod.secrets = Secrets()
    assert reviewers(prod) == {}


def test_bearer_is_checked_exactly(make_env):
    env = make_env()
    assert bearer_ok(env, "Bearer test-intake-token") and bearer_ok(env, "bearer test-intake-token")
    assert not bearer_ok(env, "Bearer test-intake-tokenX") and not bearer_ok(env, None)
    assert not bearer_ok(env, "Basic test-intake-token")


def test_pages_need_a_session_and_json_gets_401(server):
    client = httpx.Client(base_url=server.url)
    for path in ("/review", "/review/orders", "/review/orders/1", "/review/actions", "/review/observations",
                 "/review/orders/1/pdf"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/review/login?next=%2Freview")
    forged = httpx.get(server.url + "/review/orders", cookies={"gfs_review": "abc.def"})  # a fresh client: no jar
    assert forged.status_code == 303
    assert client.post("/review/orders/1/reject", data={"reason": "x"}).status_code == 303
    for path in ("/api/review-items", "/api/proposed-actions"):
        response = client.get(path)
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
        assert "sign in" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "query", "page"), [
    ("GET", "/review/orders/7", "", "/review/orders/7"),
    ("GET", "/review/actions", "status=approved&kind=x", "/review/actions?status=approved&kind=x"),
    ("HEAD", "/review/orders", "", "/review/orders"),
    ("POST", "/review/orders/7/approve", "", "/review/orders/7"),
    ("POST", "/review/orders/7/reject", "", "/review/orders/7"),
    ("POST", "/review/actions/12", "", "/review/actions"),
    ("POST", "/review/observations", "", "/review/observations"),
    ("POST", "/review/logout", "", "/review"),
    ("POST", "/review/orders/7/reject/x", "", "/review"),
])
def test_after_sign_in_the_reviewer_returns_to_a_page_never_to_a_form_s_post_only_path(method, path, query, page):
    assert signin_next(method, path, query) == page


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_not_to_a_405(server):
    # Restart without SESSION_SECRET, 12 hours, sign-out in another tab: the next form sent has no session.
    def seed(conn):
        seed_reference(conn)
        add_review_item(conn)
        add_action(conn, "send_collection_email", COLLECTION_EMAIL)
        add_observation(conn, "Driscoll pays on the 45th day, not the 30th")

    server.run(server.env.db.write(seed))
    for form, fields, page in [("/review/orders/1/reject", {"reason": "duplicate"}, "/review/orders/1"),
                               ("/review/orders/1/approve", {}, "/review/orders/1"),
                               ("/review/actions/1", {"op": "reject", "reason": "no"}, "/review/actions"),
                               ("/review/observations", {"ids": "1", "decision": "dismissed"}, "/review/observations")]:
        client = httpx.Client(base_url=server.url)
        ended = client.post(form, data={"csrf": "from-the-ended-session", **fields})
        assert ended.status_code == 303, form
        login = client.get(ended.headers["location"])
        assert hidden(login.text, "next") == page
        signed_in = client.post("/review/login", data={"csrf": hidden(login.text, "csrf"), "username": TEST_REVIEWER[0],
                                                       "password": TEST_REVIEWER[1], "next": hidden(login.text, "next")})
        assert signed_in.headers["location"] == page
        back = client.get(page)
        assert back.status_code == 200 and back.headers["content-type"].startswith("text/html"), (form, back.text[:200])
    states = server.run(server.env.db.fetchone(
        "SELECT (SELECT status FROM review_items), (SELECT status FROM proposed_actions), (SELECT status FROM reflexion_log)"))
    assert tuple(states) == ("pending", "staged", "needs_review")  # the forms sent without a session did nothing


def _logged(caplog) -> str:
    return "\n".join(record.getMessage() + "".join(traceback.format_exception(*record.exc_info) if record.exc_info else [])
                     for record in caplog.records)


@pytest.mark.parametrize("part", [(None, b"\xffsecretpw"), (None, b"secretpw", "text/plain; charset=no-such-charset")],
                         ids=["not-utf-8", "unknown-charset"])
def test_a_sign_in_form_that_is_not_utf_8_is_a_400_that_describes_no_part_of_it(server, caplog, part):
    caplog.set_level(logging.DEBUG)
    client = httpx.Client(base_url=server.url)
    page = client.get("/review/login")
    response = client.post("/review/login", data={"csrf": hidden(page.text, "csrf"), "username": TEST_REVIEWER[0]},
                           files={"password": part})
    assert response.status_code == 400 and "form is not UTF-8 text" in response.text
    logged = _logged(caplog)
    for told in (response.text, logged):
        assert "secretpw" not in told and "0xff" not in told and "position" not in told and "Traceback" not in told


def test_a_review_form_that_is_not_utf_8_is_a_400_and_changes_nothing(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.run(server.env.db.write(lambda conn: add_action(conn, "send_collection_email", COLLECTION_EMAIL)))
    client = sign_in(server.url)
    response = client.post("/review/actions/1", data={"csrf": client.csrf, "op": "save"},
                           files={"subject": (None, b"Caf\xe9 unechoed-subject")})
    assert response.status_code == 400 and "form is not UTF-8 text" in response.text
    # Not "Caf": a random session or CSRF token in the logged headers may hold it (a CI run failed so).
    echoed = "unechoed-subject"
    assert echoed not in response.text and echoed not in _logged(caplog) and "Traceback" not in _logged(caplog)
    payload = server.run(server.env.db.fetchone("SELECT payload_json FROM proposed_actions"))[0]
    assert COLLECTION_EMAIL["subject"] in payload


def test_sign_in_cookie_attributes_and_sign_out(server):
    client = sign_in(server.url)
    cookie = next(h for h in client.cookies.jar if h.name == "gfs_review")
    assert not cookie.secure
    raw = client.get("/review/login")  # the login page again (its token reused) for a second sign-in over "https"
    response = httpx.post(server.url + "/review/login", headers={"X-Forwarded-Proto": "https"},
                          cookies={"gfs_login": client.cookies["gfs_login"]},
                          data={"csrf": hidden(raw.text, "csrf"), "username": TEST_REVIEWER[0],
                                "password": TEST_REVIEWER[1], "next": "//evil.example/x"})
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" in set_cookie
    assert response.headers["location"] == "/review"  # no open redirect
    stolen = client.cookies["gfs_review"]
    assert client.post("/review/logout", data={"csrf": client.csrf}).status_code == 303
    # The server ended the session: a kept copy of the cookie no longer works.
    assert httpx.get(server.url + "/review/orders", cookies={"gfs_review": stolen}).status_code == 303


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(settings):
    # A cookie on a lost laptop: the operator changes the reviewer's hash in REVIEW_USERS and restarts.
    from tests.helpers import TEST_INTAKE_TOKEN, TEST_WEBHOOK_SECRET, live_server
    from worker.config import Secrets
    from worker.env import build_env
    from worker.passwords import hash_password

    def env_with(users: str):
        return build_env(settings, Secrets.from_environ({
            "NS_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET, "INTAKE_TOKEN": TEST_INTAKE_TOKEN, "REVIEW_USERS": users,
            "SESSION_SECRET": "a-long-persistent-session-secret"}))  # sessions survive restarts

    name, password = TEST_REVIEWER
    same = f"{name}:{hash_password(password)}"
    with live_server(env_with(same)) as live:
        live.run(live.env.bucket.ensure_bucket())
        kept = sign_in(live.url).cookies["gfs_review"]
    with live_server(env_with(same)) as live:  # same password: the session is still good after a restart
        assert httpx.get(live.url + "/api/review-items", cookies={"gfs_review": kept}).status_code == 200
    with live_server(env_with(f"{name}:{hash_password('a brand new password')}")) as live:
        assert httpx.get(live.url + "/api/review-items", cookies={"gfs_review": kept}).status_code == 401
        assert httpx.get(live.url + "/review/orders", cookies={"gfs_review": kept}).status_code == 303
        assert sign_in(live.url, password="a brand new password").get("/review/orders").status_code == 200


def test_the_session_key_is_session_secret_as_mounted_from_a_file_or_typed(settings):
    # A secret mounted from a file ends in a newline: a process reading it so and one given it typed must accept
    # each other's cookies (before, the newline was part of the key, and sessions were not shared).
    from worker.auth import session_key
    from worker.config import Secrets
    from worker.env import build_env

    secret = "a-long-persistent-session-secret"
    mounted, typed = (build_env(settings, Secrets.from_environ({"SESSION_SECRET": value}))
                      for value in (secret + "\n", secret))
    assert session_key(mounted) == session_key(typed)
    unset = build_env(settings, Secrets.from_environ({"SESSION_SECRET": " \n"}))  # blank: unset, random per start
    assert session_key(unset) != session_key(typed)


def test_a_session_lasts_12_hours(server):
    now = utcnow()
    server.env.clock = lambda: now
    cookie = sign_in(server.url).cookies["gfs_review"]

    def with_cookie(path: str) -> httpx.Response:  # a fresh client each time: the session cookie and nothing else
        return httpx.get(server.url + path, cookies={"gfs_review": cookie})

    server.env.clock = lambda: now + timedelta(hours=12, seconds=-1)
    assert with_cookie("/review/orders").status_code == 200 and with_cookie("/api/review-items").status_code == 200
    server.env.clock = lambda: now + timedelta(hours=12, seconds=1)
    expired = with_cookie("/review/orders")
    assert expired.status_code == 303 and expired.headers["location"].startswith("/review/login?next=%2Freview%2Forders")
    assert with_cookie("/api/review-items").status_code == 401


def test_login_form_needs_its_csrf_token(server):
    client = httpx.Client(base_url=server.url)
    client.get("/review/login")
    response = client.post("/review/login", data={"username": TEST_REVIEWER[0], "password": TEST_REVIEWER[1]})
    assert response.status_code == 403 and "gfs_review" not in response.headers.get("set-cookie", "")


def _attempt(server, user, password, ip_headers=None):
    client = httpx.Client(base_url=server.url)
    page = client.get("/review/login")
    return client.post("/review/login", data={"csrf": hidden(page.text, "csrf"), "username": user,
                                               "password": password})


def test_failed_sign_ins_are_rate_limited_per_user(server):
    for _ in range(5):
        assert _attempt(server, "mike", "wrong").status_code == 401
    limited = _attempt(server, "mike", TEST_REVIEWER[1])  # even the right password waits now
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in limited.text
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM review_sessions"))[0] == 0


def test_the_user_limit_lasts_15_minutes(server):
    now = utcnow()
    server.env.clock = lambda: now
    for _ in range(5):
        assert _attempt(server, TEST_REVIEWER[0], "wrong").status_code == 401
    assert _attempt(server, TEST_REVIEWER[0], TEST_REVIEWER[1]).status_code == 429
    server.env.clock = lambda: now + timedelta(minutes=16)  # the failures are now older than the window
    assert _attempt(server, TEST_REVIEWER[0], TEST_REVIEWER[1]).status_code == 303


def test_a_successful_sign_in_clears_the_reviewer_s_failures(server):
    # A reviewer who mistypes a few times, then signs in, starts afresh: their next typos do not lock them out.
    for _ in range(4):
        assert _attempt(server, TEST_REVIEWER[0], "wrong").status_code == 401
    assert _attempt(server, TEST_REVIEWER[0], TEST_REVIEWER[1]).status_code == 303
    assert [_attempt(server, TEST_REVIEWER[0], "wrong").status_code for _ in range(6)] == [401] * 5 + [429]


def test_failed_sign_ins_are_rate_limited_per_ip(server):
    for i in range(20):
        assert _attempt(server, f"nobody{i}", "guess").status_code == 401
    assert _attempt(server, "mike", TEST_REVIEWER[1]).status_code == 429


def test_parallel_guesses_cannot_pass_the_limit_together(server):
    # Each attempt is counted before its (slow) password check: 40 guesses at once, not 40 tries.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda _: _attempt(server, "mike", "wrong").status_code, range(40)))
    assert codes.count(401) == 5 and codes.count(429) == 35, codes
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM login_attempts WHERE reviewer = 'mike'"))[0] == 5



@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("10.1.2.3", "203.0.113.5", "203.0.113.5"),  # through our load balancer
    ("10.1.2.3", "6.6.6.6, 203.0.113.5, 10.0.0.7", "203.0.113.5"),  # a client's own prefix is not believed
    ("198.51.100.9", "203.0.113.5", "198.51.100.9"),  # not a trusted proxy: its header is not believed
    ("10.1.2.3", None, "10.1.2.3"),
    ("10.1.2.3", "10.0.0.5", "10.0.0.5"),  # only trusted hops: the first of them
    ("10.1.2.3", "not-an-ip, 203.0.113.5", "203.0.113.5"),
])
def test_client_address_believes_only_trusted_proxies(peer, forwarded, expected):
    assert client_address(peer, forwarded, ["10.0.0.0/8"]) == expected


def test_behind_a_trusted_proxy_the_ip_limit_counts_each_client(make_env):
    # Every request reaches us from the proxy (here 127.0.0.1): its own address must not be the one limited.
    # Served by granian, the production default, which (unlike uvicorn) does not read X-Forwarded-For itself.
    from tests.helpers import live_server

    env = make_env()
    env.settings = env.settings.model_copy(update={"review": env.settings.review.model_copy(
        update={"trusted_proxies": ["127.0.0.1/32"]})})
    with live_server(env, server="granian") as live:
        def attempt(client_ip, n):
            client = httpx.Client(base_url=live.url)
            page = client.get("/review/login")
            return client.post("/review/login", headers={"X-Forwarded-For": client_ip},
                               data={"csrf": hidden(page.text, "csrf"), "username": f"nobody{n}",
                                     "password": "guess"}).status_code

        assert [attempt("203.0.113.5", n) for n in range(20)] == [401] * 20  # 20 per IP, 5 per name
        assert attempt("203.0.113.5", 20) == 429  # that client is limited
        assert attempt("198.51.100.9", 21) == 401  # another client behind the same proxy is not
        ips = live.run(live.env.db.fetchall("SELECT DISTINCT ip FROM login_attempts ORDER BY ip"))
    assert [r[0] for r in ips] == ["198.51.100.9", "203.0.113.5"]
