"""The MCP Python SDK's OAuth client (mcp, pinned in requirements.txt) against
the example MCP server and the provider, for tests/e2e/python-mcp.test.mjs.

    python mcp_client.py <the MCP server's /mcp URL> <API key>

Connects with OAuthClientProvider: 401 -> discovery -> registration ->
consent (the redirect handler posts the real consent form, as a person's
browser would) -> token -> tools/call whoami; then marks the access token
expired, so the SDK refreshes before its next request, and calls whoami
again (when it got a refresh token). Prints one JSON object: what each step
saw.
"""

import asyncio
import html
import json
import re
import sys
import traceback
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

SERVER, API_KEY = sys.argv[1], sys.argv[2]
report = {"consents": 0, "requests": []}


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client):
        self.client = client


callback = {}


async def approve(url):
    """The person: the consent page, the key pasted, Allow."""
    report["consents"] += 1
    report["authorization_url"] = url
    async with httpx2.AsyncClient(event_hooks={"response": [status]}) as http:
        page = await http.get(url, headers={"accept": "text/html"})
        assert page.status_code == 200, page.status_code
        form = next(f for f in re.findall(r"<form\b[^>]*>.*?</form>", page.text, re.S) if 'name="csrf"' in f)
        action = html.unescape(re.search(r'action="([^"]*)"', form).group(1))
        fields = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
        # The page's cookies are __Host- and Secure: sent back by hand over http.
        cookie = "; ".join(c.split(";")[0] for c in page.headers.get_list("set-cookie"))
        origin = "{0.scheme}://{0.netloc}".format(urlparse(url))
        answer = await http.post(
            urljoin(url, action),
            data={**fields, "api_key": API_KEY, "action": "approve"},
            headers={"origin": origin, "cookie": cookie},
        )
        assert answer.status_code == 303, answer.status_code
        query = parse_qs(urlparse(answer.headers["location"]).query)
        callback.update(code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0])


async def code():
    return AuthorizationCodeResult(**callback)


async def log(request):
    report["requests"].append(f"{request.method} {request.url.path}")


async def status(response):
    report.setdefault("statuses", []).append(f"{response.request.method} {response.request.url.path} {response.status_code}")


async def whoami(auth):
    async with httpx2.AsyncClient(auth=auth, timeout=30, event_hooks={"request": [log], "response": [status]}) as http:
        async with streamable_http_client(SERVER, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                result = await session.call_tool("whoami", {})
                return result.content[0].text


async def main():
    storage = MemoryStorage()
    metadata = OAuthClientMetadata(
        client_name="e2e MCP Python SDK",
        redirect_uris=["http://127.0.0.1:6277/callback"],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    auth = OAuthClientProvider(
        server_url=SERVER, client_metadata=metadata, storage=storage, redirect_handler=approve, callback_handler=code
    )
    report["whoami"] = await whoami(auth)
    first = storage.tokens
    report["registered_grant_types"] = storage.client.grant_types
    report["tokens"] = {
        "token_type": first.token_type,
        "expires_in": first.expires_in,
        "scope": first.scope,
        "has_refresh_token": bool(first.refresh_token),
        "is_the_key": first.access_token == API_KEY,
    }
    report["iss"] = callback.get("iss")
    if not first.refresh_token:
        print(json.dumps(report))
        return
    # Expired: the SDK refreshes before it sends the next request.
    auth.context.token_expiry_time = 1
    report["requests"].append("--- expired")
    report["whoami_after_refresh"] = await whoami(auth)
    report["rotated"] = storage.tokens.refresh_token != first.refresh_token
    report["new_access_token"] = storage.tokens.access_token != first.access_token
    print(json.dumps(report))


def leaves(error):
    """The exceptions an ExceptionGroup holds, however deep."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


try:
    asyncio.run(main())
except BaseException as error:
    traceback.print_exc()
    # Last, on one line: what failed, and what each request got (the test
    # puts this line first in its message).
    causes = "; ".join(f"{type(e).__name__}: {e}" for e in leaves(error))
    print(f"{causes} | statuses: {report.get('statuses', [])}", file=sys.stderr)
    sys.exit(1)
