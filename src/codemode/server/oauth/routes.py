"""The two browser pages the authorization front adds to the SDK's OAuth routes.

``GET/POST /oauth/consent`` shows which MCP client asks for which Klaviyo scopes and where the
browser will be sent, and sets a cookie that binds the login to this browser. ``GET
/oauth/callback`` is the fixed redirect URI registered with Klaviyo.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from codemode.server.oauth.provider import KlaviyoOAuthProvider

__all__ = ["oauth_routes"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE_HEADERS = {
    **_NO_STORE,
    # The consent page must never be framed (clickjacking) nor load anything from elsewhere.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def _cookie_name(txn: str) -> str:
    return f"codemode_login_{txn[:16]}"


def _message(status: int, title: str, text: str) -> HTMLResponse:
    body = (
        f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title>"
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
    )
    return HTMLResponse(body, status_code=status, headers=_PAGE_HEADERS)


_STALE = (
    "This sign-in link has expired or was opened in another browser. Start again from your "
    "MCP client."
)


def oauth_routes(provider: KlaviyoOAuthProvider) -> list[Route]:
    """Starlette routes for the consent page and Klaviyo's callback."""

    async def consent(request: Request) -> Response:
        if request.method == "GET":
            return await _consent_page(provider, request.query_params.get("txn", ""))
        form = await request.form()
        txn = str(form.get("txn", ""))
        csrf = str(form.get("csrf", ""))
        if form.get("action") == "approve":
            target = await provider.approve(txn, csrf, request.cookies.get(_cookie_name(txn)))
        else:
            target = await provider.deny(txn, csrf)
        if target is None:
            return _message(400, "Sign-in expired", _STALE)
        return RedirectResponse(target, status_code=303, headers=_NO_STORE)

    async def callback(request: Request) -> Response:
        query = request.query_params
        state = query.get("state", "")
        target = await provider.complete(
            state=state,
            code=query.get("code"),
            error=query.get("error"),
            cookie=request.cookies.get(_cookie_name(state)),
        )
        if target is None:
            return _message(400, "Sign-in expired", _STALE)
        response = RedirectResponse(target, status_code=302, headers=_NO_STORE)
        response.delete_cookie(_cookie_name(state), path="/oauth")
        return response

    return [
        Route(provider.consent_path, consent, methods=["GET", "POST"]),
        Route(provider.callback_path, callback, methods=["GET"]),
    ]


async def _consent_page(provider: KlaviyoOAuthProvider, txn: str) -> Response:
    pending = await provider.pending(txn)
    if pending is None:
        return _message(400, "Sign-in expired", _STALE)
    client = pending.client
    name = client.client_name or client.client_id or "an unnamed client"
    redirect = pending.params.redirect_uri
    scopes = "".join(f"<li><code>{escape(s)}</code></li>" for s in pending.scopes)
    body = f"""<!doctype html><meta charset=utf-8><title>Connect Klaviyo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto}}</style>
<h1>Allow {escape(name)} to use your Klaviyo account?</h1>
<p>After you sign in to Klaviyo, you will be sent back to
<strong>{escape(str(redirect.host or ""))}</strong> (<code>{escape(str(redirect))}</code>).
Only continue if you started this from that application.</p>
<p>Requested Klaviyo scopes:</p><ul>{scopes}</ul>
<form method=post action="{escape(provider.consent_path)}">
<input type=hidden name=txn value="{escape(txn)}">
<input type=hidden name=csrf value="{escape(pending.csrf)}">
<button name=action value=approve>Continue to Klaviyo</button>
<button name=action value=deny>Cancel</button>
</form>"""
    response = HTMLResponse(body, headers=_PAGE_HEADERS)
    # Lax: sent on Klaviyo's top-level redirect back to the callback, never on a cross-site POST.
    response.set_cookie(
        _cookie_name(txn),
        pending.csrf,
        max_age=provider.pending_ttl,
        path="/oauth",
        httponly=True,
        samesite="lax",
        secure=provider.server_url.startswith("https://"),
    )
    return response
