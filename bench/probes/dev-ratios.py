#!/usr/bin/env python3
"""The issue's outside check, done from outside: the three flows, written here
again with Python's standard library only (none of bench/lib), against the
servers a person starts by hand in one session on one machine:

    make dev            ours, passthrough, on 127.0.0.1:8787
    make dev-peer       @cloudflare/workers-oauth-provider doing our job, 8791
    make dev-original   the JavaScript original, 8792

    python3 bench/probes/dev-ratios.py

With SEALED=1, ours is the sealed flow instead (the five steps with resource =
the example MCP server, then its `tools/call whoami`, which opens the token),
against `make dev TOKEN_MODE=sealed` (8787) and `make -C examples/mcp-server
dev` (8788); its CPU is both wranglers'.

Interleaved rounds (one implementation at a time, so each gets the machine),
after a warm-up; for each: flows/s, median flow latency, and CPU per flow, the
user+system time (/proc) of the workerd processes under that server's
`wrangler dev` (found by the port its proxy listens on), and with wrangler's
Node process too. Then the ratios, to compare with the README's "Ratios under
`make dev`". The client's own CPU per flow is printed too: it shares the
machine's cores with the servers, so flows/s measure it as well.

Env: ROUNDS (4), SECONDS (8), WARMUP (3), CONCURRENCY ("1,8"), SEALED, OURS_PORT,
MCP_PORT, PEER_PORT, ORIGINAL_PORT. Only 127.0.0.1 is ever sent to.

    python3 bench/probes/dev-ratios.py --once ours|sealed|peer|original <port> [<MCP server port>]

runs one flow against that implementation on 127.0.0.1:<port> and exits 0 if
it completed (tests/e2e/bench.test.mjs checks the four flows this way).
"""
import base64
import hashlib
import html
import http.client
import json
import os
import re
import secrets
import statistics
import sys
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
OURS_REDIRECT = "http://127.0.0.1:9/cb"
ORIGINAL_REDIRECT = "http://localhost:9/cb"  # the original takes http only for localhost
CLK_TCK = os.sysconf("SC_CLK_TCK")


class FlowError(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise FlowError(what)


class Client:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)

    def send(self, method, target, body=None, headers=None):
        for attempt in (1, 2):
            try:
                self.conn.request(method, target, body=body, headers=headers or {})
                res = self.conn.getresponse()
                return res, res.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
                if attempt == 2:
                    raise

    def get_json(self, target, status=200):
        res, body = self.send("GET", target)
        expect(res.status == status, f"GET {target}: {res.status}")
        return json.loads(body)

    def post(self, target, body, content_type, headers=None):
        return self.send("POST", target, body, {"content-type": content_type, **(headers or {})})


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def target(url):
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def hidden_input(page, name):
    tag = re.search(r'<input[^>]*\bname="%s"[^>]*>' % name, page)
    value = tag and re.search(r'\bvalue="([^"]*)"', tag.group(0))
    expect(value, f"consent page: no input {name}")
    return html.unescape(value.group(1))


# The public client ours and the peer register (PKCE, refresh tokens).
PUBLIC_CLIENT = {"client_name": "outside", "redirect_uris": [OURS_REDIRECT], "token_endpoint_auth_method": "none",
                 "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}


def fresh():
    """A flow's own values: (PKCE verifier, its S256 challenge, a state, an API key)."""
    verifier = b64url(secrets.token_bytes(32))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge, b64url(secrets.token_bytes(9)), "sk-outside-" + secrets.token_hex(12)


def start(client, base, registration=PUBLIC_CLIENT):
    """Metadata (issuer checked), registration: (metadata, client_id, verifier, challenge, state, key)."""
    meta = client.get_json("/.well-known/oauth-authorization-server")
    expect(meta["issuer"] == base, f"issuer {meta['issuer']}")
    res, body = client.post(target(meta["registration_endpoint"]), json.dumps(registration), "application/json")
    expect(res.status == 201, f"register: {res.status} {body[:200]}")
    return (meta, json.loads(body)["client_id"], *fresh())


def authorize_target(meta, **params):
    return target(meta["authorization_endpoint"]) + "?" + urllib.parse.urlencode(
        {"response_type": "code", "code_challenge_method": "S256", **params})


def code_of(res, meta, state):
    location = urllib.parse.urlsplit(res.headers["location"])
    query = urllib.parse.parse_qs(location.query)
    expect(f"{location.scheme}://{location.netloc}{location.path}" == OURS_REDIRECT, f"redirect to {location}")
    expect(query.get("state") == [state] and query.get("iss") == [meta["issuer"]], "redirect parameters")
    return query["code"][0]


def exchange(client, meta, **form):
    res, body = client.post(target(meta["token_endpoint"]), urllib.parse.urlencode(
        {"grant_type": "authorization_code", **form}), "application/x-www-form-urlencoded")
    expect(res.status == 200, f"token: {res.status} {body[:200]}")
    return json.loads(body)


def ours_flow(client, base, resource=None):
    """Metadata, register, consent page, consent POST (303), token: the key comes back (passthrough), or with
    `resource` (sealed mode) a sealed access token for it and a refresh token: the token response."""
    meta, client_id, verifier, challenge, state, key = start(client, base)
    for_resource = {"resource": resource, "scope": "api"} if resource else {}
    res, body = client.send("GET", authorize_target(
        meta, client_id=client_id, redirect_uri=OURS_REDIRECT, code_challenge=challenge, state=state,
        **for_resource))
    expect(res.status == 200, f"consent page: {res.status}")
    page = body.decode()
    cookie = [c.split(";")[0] for c in res.headers.get_all("set-cookie") or []
              if c.startswith("__Host-parallel-oauth-csrf=")]
    expect(cookie, "consent page: no CSRF cookie")
    form = {"request": hidden_input(page, "request"), "csrf": hidden_input(page, "csrf"),
            "api_key": key, "action": "approve"}
    res, _ = client.post(target(meta["authorization_endpoint"]), urllib.parse.urlencode(form),
                         "application/x-www-form-urlencoded", {"cookie": cookie[0], "origin": base})
    expect(res.status == 303, f"consent POST: {res.status}")
    tokens = exchange(client, meta, code=code_of(res, meta, state), client_id=client_id,
                      redirect_uri=OURS_REDIRECT, code_verifier=verifier, **({"resource": resource} if resource else {}))
    if not resource:
        expect(tokens["access_token"] == key, "token: not the key typed")
        return tokens, key
    expect(tokens["access_token"].count(".") == 4 and key not in tokens["access_token"], "token: not a JWE")
    expect(tokens.get("refresh_token"), "token: no refresh token")
    return tokens, key


_threads = threading.local()


def sealed_flow(mcp_port):
    """Ours sealed, then the MCP server's `tools/call whoami` with the token: the typed key, masked, opened there."""
    resource = f"http://{HOST}:{mcp_port}/mcp"

    def flow(client, base):
        tokens, key = ours_flow(client, base, resource)
        mcp = getattr(_threads, "mcp", None) or Client(mcp_port)
        _threads.mcp = mcp
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
        res, body = mcp.post("/mcp", json.dumps(call), "application/json", {
            "accept": "application/json, text/event-stream", "authorization": f"Bearer {tokens['access_token']}"})
        expect(res.status == 200, f"mcp tools/call: {res.status}")
        text = json.loads(body).get("result", {}).get("content", [{}])[0].get("text", "")
        expect(f"{key[:3]}\u2026{key[-4:]}" in text and "sealed for this server only" in text,
               f"mcp tools/call: not the typed key: {text[:120]}")
    return flow


def peer_flow(client, base):
    """The same five steps with resource <base>/api, then GET /api/key with the token: the key."""
    meta, client_id, verifier, challenge, state, key = start(client, base)
    resource = f"{base}/api"
    res, body = client.send("GET", authorize_target(
        meta, client_id=client_id, redirect_uri=OURS_REDIRECT, code_challenge=challenge, state=state,
        resource=resource, scope="api"))
    expect(res.status == 200, f"consent page: {res.status}")
    form = {"request": hidden_input(body.decode(), "request"), "api_key": key}
    res, _ = client.post(target(meta["authorization_endpoint"]), urllib.parse.urlencode(form),
                         "application/x-www-form-urlencoded", {"origin": base})
    expect(res.status == 302, f"consent POST: {res.status}")
    tokens = exchange(client, meta, code=code_of(res, meta, state), client_id=client_id,
                      redirect_uri=OURS_REDIRECT, code_verifier=verifier, resource=resource)
    res, body = client.send("GET", "/api/key", headers={"authorization": f"Bearer {tokens['access_token']}"})
    expect(res.status == 200 and body.decode() == key, f"api request: {res.status}")


def original_flow(client, base):
    """Metadata, register, GET /authorize, POST /store-key (as its page's script does), token."""
    meta = client.get_json("/.well-known/oauth-authorization-server")
    res, body = client.post(target(meta["registration_endpoint"]), json.dumps(
        {"client_name": "outside", "redirect_uris": [ORIGINAL_REDIRECT]}), "application/json")
    expect(res.status == 201, f"register: {res.status}")
    client_id = json.loads(body)["client_id"]
    verifier, challenge, state, key = fresh()
    res, body = client.send("GET", authorize_target(
        meta, client_id=client_id, redirect_uri=ORIGINAL_REDIRECT, code_challenge=challenge, state=state, scope="api"))
    expect(res.status == 200 and challenge in body.decode(), f"authorize page: {res.status}")
    code = "auth_" + secrets.token_hex(28)
    res, body = client.post("/store-key", json.dumps({"authCode": code, "apiKey": key, "codeChallenge": challenge}),
                            "application/json")
    expect(res.status == 200 and body == b"OK", f"store-key: {res.status} {body[:100]}")
    tokens = exchange(client, meta, code=code, client_id=client_id, redirect_uri=ORIGINAL_REDIRECT,
                      code_verifier=verifier)
    expect(tokens["access_token"] == key, "token: not the key typed")


def processes():
    """pid -> (ppid, name, user+system ticks, cmdline)."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            fields = stat[stat.rindex(")") + 2:].split()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            out[int(pid)] = (int(fields[1]), stat[stat.index("(") + 1:stat.rindex(")")],
                             int(fields[11]) + int(fields[12]), cmd)
        except (OSError, ValueError):
            pass
    return out


def wrangler_of(port):
    """The pid of the `wrangler dev` whose proxy workerd listens on 127.0.0.1:port."""
    for pid, (ppid, name, _, cmd) in processes().items():
        if name == "workerd" and f"entry=127.0.0.1:{port} " in cmd + " ":
            return ppid
    sys.exit(f"nothing listens on 127.0.0.1:{port} as wrangler dev's proxy: start it first (see the header)")


def cpu_seconds(roots):
    """(workerd, workerd + node) user+system seconds of the process trees of `roots`."""
    procs = processes()
    tree, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, p in procs.items() if p[0] in frontier and pid not in tree}
        tree |= frontier
    workerd = sum(procs[p][2] for p in tree if p in procs and procs[p][1] == "workerd")
    allof = sum(procs[p][2] for p in tree if p in procs)
    return workerd / CLK_TCK, allof / CLK_TCK


def drive(flow, port, roots, concurrency, seconds):
    """`concurrency` loops of `flow` for `seconds`: flows, wall s, workerd s, tree s, client s, latencies."""
    base = f"http://{HOST}:{port}"
    latencies, failures, lock = [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def loop():
        client = Client(port)
        while time.monotonic() < stop:
            t = time.monotonic()
            try:
                flow(client, base)
            except Exception as e:  # a failed flow fails the run
                failures.append(e)
                return
            with lock:
                latencies.append(time.monotonic() - t)

    w0, a0 = cpu_seconds(roots)
    c0, t0 = time.process_time(), time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall, client = time.monotonic() - t0, time.process_time() - c0
    w1, a1 = cpu_seconds(roots)
    if failures:
        sys.exit(f"a flow failed on {base}: {failures[0]!r}")
    return len(latencies), wall, w1 - w0, a1 - a0, client, latencies


FLOWS = {"ours": lambda client, base: ours_flow(client, base), "peer": peer_flow, "original": original_flow}


def once(name, port, mcp_port=None):
    """One flow of `name` against 127.0.0.1:port (sealed: with the MCP server on mcp_port)."""
    flow = sealed_flow(mcp_port) if name == "sealed" else FLOWS[name]
    try:
        flow(Client(port), f"http://{HOST}:{port}")
    except (FlowError, KeyError, ValueError, TypeError, OSError) as e:
        sys.exit(f"{name} flow on port {port} failed: {e!r}")
    print(f"{name}: one flow completed")


def main():
    if sys.argv[1:2] == ["--once"]:
        return once(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
    env = os.environ.get
    rounds, seconds, warmup = int(env("ROUNDS", 4)), float(env("SECONDS", 8)), float(env("WARMUP", 3))
    port = {name: int(env(f"{name.upper()}_PORT", default))
            for name, default in (("ours", 8787), ("mcp", 8788), ("peer", 8791), ("original", 8792))}
    ours = ("ours sealed", sealed_flow(port["mcp"])) if env("SEALED") else ("ours", FLOWS["ours"])
    impls = [(*ours, port["ours"]), ("peer", peer_flow, port["peer"]), ("original", original_flow, port["original"])]
    # A process tree per implementation (sealed: the provider's and the MCP server's).
    roots = {name: [wrangler_of(p)] for name, _, p in impls}
    if env("SEALED"):
        roots[ours[0]].append(wrangler_of(port["mcp"]))
    print(f"{rounds} rounds of {seconds:g} s per implementation after {warmup:g} s, interleaved")
    for concurrency in [int(c) for c in env("CONCURRENCY", "1,8").split(",")]:
        for name, flow, port in impls:
            drive(flow, port, roots[name], concurrency, warmup)
        sums = {name: [0, 0.0, 0.0, 0.0, 0.0, []] for name, _, _ in impls}
        for _ in range(rounds):
            for name, flow, port in impls:
                for i, v in enumerate(drive(flow, port, roots[name], concurrency, seconds)):
                    sums[name][i] += v
        print(f"c={concurrency}")
        per = {}
        for name, (n, wall, workerd, tree, client, lat) in sums.items():
            per[name] = (n / wall, 1000 * workerd / n, 1000 * tree / n)
            print(f"  {name:11s} {n / wall:6.1f} flows/s  p50 {1000 * statistics.median(lat):6.1f} ms  "
                  f"CPU {1000 * workerd / n:6.2f} ms/flow (workerd), {1000 * tree / n:6.2f} with wrangler's Node; "
                  f"this client {1000 * client / n:5.2f}")
        for a, b in ((ours[0], "peer"), (ours[0], "original"), ("peer", "original")):
            print(f"  {a}/{b}: CPU {per[a][1] / per[b][1]:.3f}x (with Node {per[a][2] / per[b][2]:.3f}x), "
                  f"flows/s {per[a][0] / per[b][0]:.2f}x")


if __name__ == "__main__":
    main()
