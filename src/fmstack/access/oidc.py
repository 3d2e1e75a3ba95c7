"""Console sign-in through an OpenID Connect provider (authorization code flow with PKCE).

Configured by the operator: FMSTACK_OIDC_ISSUER (its discovery document is read from
ISSUER/.well-known/openid-configuration), FMSTACK_OIDC_CLIENT_ID, FMSTACK_OIDC_CLIENT_SECRET.
The ID token is verified with joserfc (signature against the provider's keys, issuer, audience,
expiry, nonce). The person signs in as the fmstack user whose name is the token's `email` claim (or
`sub` when there is no e-mail): an admin creates users first (`fmstack users create` without a
password is not needed — any user may also sign in by OIDC), unless FMSTACK_OIDC_CREATE_USERS is
set to a role, in which case a first sign-in creates the user as that role in the default
workspace. The login's state, nonce and PKCE verifier travel in a short-lived cookie encrypted with
the server key."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from ..errors import ConfigError, Unauthorized
from ..security import SecretBox

STATE_COOKIE = "fmstack_oidc"
STATE_SECONDS = 600


@dataclass
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str | None = None
    create_users: str | None = None  # a role: first sign-ins create the user (default workspace)
    scope: str = "openid email profile"


class OidcLogin:
    def __init__(self, config: OidcConfig, secrets_box: SecretBox):
        self.config = config
        self.box = secrets_box
        self._discovery: dict | None = None
        self._jwks: dict | None = None

    def discovery(self) -> dict:
        if self._discovery is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                self._discovery = httpx.get(url, timeout=10).raise_for_status().json()
            except (httpx.HTTPError, ValueError) as e:
                raise ConfigError(f"cannot read the OpenID provider's configuration at {url}: {e}") from None
        return self._discovery

    def start(self, redirect_uri: str) -> tuple[str, str]:
        """(the provider URL to send the browser to, the state cookie to set)."""
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        cookie = self.box.seal(json.dumps({"state": state, "nonce": nonce, "verifier": verifier, "at": time.time()}))
        return f"{self.discovery()['authorization_endpoint']}?{urlencode(query)}", cookie or ""

    def finish(self, code: str, state: str, cookie: str, redirect_uri: str) -> dict:
        """The verified ID token's claims, or Unauthorized."""
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        try:
            saved = json.loads(self.box.open(cookie) or "{}") if cookie.startswith("enc:") else {}
        except (ConfigError, ValueError):
            saved = {}
        if not isinstance(saved, dict) or not saved or not secrets.compare_digest(str(saved.get("state")), state):
            raise Unauthorized("the sign-in could not be matched to this browser: start it again")
        if time.time() - float(saved.get("at", 0)) > STATE_SECONDS:
            raise Unauthorized("the sign-in took too long: start it again")
        meta = self.discovery()
        auth = (self.config.client_id, self.config.client_secret or "")
        try:
            r = httpx.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.config.client_id,
                    "code_verifier": saved["verifier"],
                },
                auth=auth,
                timeout=10,
            )
            tokens = r.raise_for_status().json()
            if self._jwks is None:
                self._jwks = httpx.get(meta["jwks_uri"], timeout=10).raise_for_status().json()
        except (httpx.HTTPError, ValueError) as e:
            raise Unauthorized(f"the OpenID provider did not accept the sign-in: {e}") from None
        try:
            token = jwt.decode(tokens["id_token"], KeySet.import_key_set(self._jwks))  # type: ignore[arg-type]
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": meta.get("issuer", self.config.issuer)},
                aud={"essential": True, "value": self.config.client_id},
                nonce={"essential": True, "value": saved["nonce"]},
                leeway=60,
            ).validate(token.claims)
        except (JoseError, KeyError, ValueError) as e:
            raise Unauthorized(f"the ID token is not valid: {e}") from None
        return dict(token.claims)
