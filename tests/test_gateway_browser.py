"""The web console in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

One browser for the module. With ``PYREDIS_SCREENSHOTS=1`` the tests also refresh the screenshots
in docs/screenshots/ (the ones docs/gateway.md shows).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from gateway_support import start_gateway_server

from support import ROOT

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.path.join(ROOT, "docs", "screenshots")

if not os.path.exists(CHROMIUM):  # scripts/test.sh installs it; a missing browser must not pass silently
    pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; scripts/test.sh does it)", pytrace=False)
try:
    from playwright import sync_api
except ImportError:
    pytest.fail("playwright is missing (pip install '.[browser]'; scripts/test.sh does it)", pytrace=False)
sync_api.expect.set_options(timeout=15000)  # generous: the CI machine may be busy (these are waits, not timings)


@pytest.fixture(scope="module")
def server():
    srv, port = start_gateway_server("--requirepass", "adminpw", "--gateway-commands", "yes",
                                     "--slowlog-log-slower-than", "0")
    srv.gport = port
    c = srv.client()
    assert c.call("AUTH", "adminpw") == b"+OK\r\n"
    assert c.call("ACL", "SETUSER", "web", "on", ">webpw", "~*", "&*", "+@all") == b"+OK\r\n"
    c.call("HSET", "demo:user:1", "name", "Ada", "lang", "en")
    c.call("SET", "demo:json", '{"id": 7, "tags": ["a", "b"], "nested": {"ok": true}}')
    c.call("RPUSH", "demo:list", "one", "two", "three")
    c.call("ZADD", "demo:scores", "10", "alice", "7", "bob")
    c.call("XADD", "demo:stream", "*", "temp", "21.5")
    c.call("XGROUP", "CREATE", "demo:stream", "workers", "0")
    c.close()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(f"http://127.0.0.1:{server.gport}/")
        pg.errors = errors
        yield pg
        browser.close()


def redis_cli(server, *args: str) -> str:
    exe = shutil.which("redis-cli")
    assert exe is not None, "redis-cli is missing (redis-tools)"
    out = subprocess.run([exe, "-p", str(server.port), "--user", "web", "--pass", "webpw", "--no-auth-warning", *args],
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def shot(page, name: str) -> None:
    if os.environ.get("PYREDIS_SCREENSHOTS"):
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, name + ".png"))


def test_login(page):
    expect = sync_api.expect
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#tabs")).to_be_hidden()  # nothing before login
    page.fill("#login-user", "web")
    page.fill("#login-password", "wrong")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("WRONGPASS")
    shot(page, "login")
    page.fill("#login-password", "webpw")
    page.click("#login-submit")
    expect(page.locator("#tabs")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("as web")
    expect(page.locator('#keys-body tr[data-key="demo:json"]')).to_be_visible()


def test_key_from_redis_cli_appears_and_ttl_counts_down(page, server):
    expect = sync_api.expect
    assert redis_cli(server, "SET", "browser:k1", "hello", "EX", "40") == "OK"
    row = page.locator('#keys-body tr[data-key="browser:k1"]')
    expect(row).to_be_visible()
    ttl_cell = row.locator("td.ttl")
    expect(ttl_cell).to_have_text(re.compile(r"^\d+ s$"))
    first = int(ttl_cell.inner_text().split()[0])
    assert 0 < first <= 40  # how far it has counted already depends on the machine's load
    expect(ttl_cell).not_to_have_text(f"{first} s")  # it counts down
    assert int(ttl_cell.inner_text().split()[0]) < first
    row.click()
    expect(page.locator("#key-view h3")).to_have_text("browser:k1")
    expect(page.locator("#key-view pre")).to_have_text("hello")
    page.locator('#keys-body tr[data-key="demo:json"]').click()
    expect(page.locator("#key-view pre.json")).to_contain_text('"nested": {')
    shot(page, "keys")
    page.locator('#keys-body tr[data-key="demo:stream"]').click()
    expect(page.locator("#key-view")).to_contain_text("workers")
    # deleted elsewhere: the row goes away
    assert redis_cli(server, "DEL", "browser:k1") == "1"
    expect(row).to_have_count(0)


def test_published_message_in_event_tail(page, server):
    expect = sync_api.expect
    page.click('#tabs button[data-view="events"]')
    assert redis_cli(server, "PUBLISH", "news", "hello-from-redis-cli") == "1"
    expect(page.locator("#events-body tr", has_text="hello-from-redis-cli")).to_have_count(1)
    redis_cli(server, "SET", "tail:key", "v")
    expect(page.locator("#events-body tr", has_text="tail:key")).to_have_count(1)
    page.fill("#events-filter", "hello")
    redis_cli(server, "PUBLISH", "news", "second-message")
    redis_cli(server, "PUBLISH", "news", "hello-again")
    expect(page.locator("#events-body tr", has_text="hello-again")).to_be_visible()
    expect(page.locator("#events-body tr", has_text="second-message")).to_be_hidden()
    page.fill("#events-filter", "")
    expect(page.locator("#events-body tr", has_text="second-message")).to_be_visible()
    shot(page, "events")


def test_command_console(page, server):
    expect = sync_api.expect
    page.click('#tabs button[data-view="console"]')
    inp = page.locator("#console-input")
    inp.fill("SET console:k 42")
    inp.press("Enter")
    expect(page.locator("#console-out .reply").last).to_have_text('"OK"')
    inp.fill("HGETALL demo:user:1")
    inp.press("Enter")
    expect(page.locator("#console-out .reply").last).to_contain_text('"name" => "Ada"')
    inp.fill("INCR demo:json")
    inp.press("Enter")
    expect(page.locator("#console-out .err").last).to_contain_text("ERR value is not an integer")
    inp.press("ArrowUp")
    expect(inp).to_have_value("INCR demo:json")
    assert redis_cli(server, "GET", "console:k") == "42"
    shot(page, "console")


def test_docs_javascript_snippet(page, server):
    """The snippet in docs/gateway.md, run as written in the browser, receives published messages."""
    with open(os.path.join(ROOT, "docs", "gateway.md")) as fh:
        doc = fh.read()
    snippet = doc.split("```js\n", 1)[1].split("```", 1)[0]
    assert len(snippet.strip().splitlines()) <= 20
    definition = snippet[: snippet.rindex("subscribe(")]  # the function, without the example call
    page.evaluate("() => {" + definition + "window.got = []; subscribe('ws://' + location.host + '/ws', 'snippet', "
                  "(data) => window.got.push(data), {user: 'web', password: 'webpw'}); }")
    for _ in range(50):  # until the snippet's session has subscribed
        if redis_cli(server, "PUBSUB", "NUMSUB", "snippet").splitlines()[-1] == "1":
            break
        page.wait_for_timeout(100)
    assert redis_cli(server, "PUBLISH", "snippet", "from-the-docs") == "2"  # the snippet and the console
    page.wait_for_function("() => window.got.includes('from-the-docs')")


def test_metrics_slowlog_clients_views(page, server):
    expect = sync_api.expect
    page.click('#tabs button[data-view="metrics"]')
    expect(page.locator("#m-clients")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#info-server")).to_contain_text("redis_version")
    if os.environ.get("PYREDIS_SCREENSHOTS"):  # a few seconds of samples for the picture
        for i in range(8):
            redis_cli(server, "SET", f"load:{i}", "x" * 10000)
            page.wait_for_timeout(700)
    shot(page, "metrics")
    page.click('#tabs button[data-view="slowlog"]')
    expect(page.locator("#slowlog-body tr").first).to_be_visible()
    page.click('#tabs button[data-view="clients"]')
    expect(page.locator("#clients-body tr.gateway").first).to_be_visible()
    shot(page, "clients")
    page.click('#tabs button[data-view="latency"]')
    expect(page.locator("#latency-body tr").first).to_be_visible()
    assert page.errors == []
