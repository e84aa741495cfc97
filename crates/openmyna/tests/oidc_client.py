"""A relying party's OpenID Connect client, with Authlib (a real third-party library), for the
integration test `it::oidc`: it discovers the provider, builds the authorisation request with
PKCE (S256), state and nonce, redeems the code with a private_key_jwt assertion (ES256), checks
the ID token against the provider's JWKS (signature, iss, aud, exp, nonce) with joserfc, and
reads userinfo. The test plays the holder's browser between `authorize` and `finish`.

    python oidc_client.py keygen DIR                  -> the public JWK (stdout)
    python oidc_client.py authorize DIR ISSUER CLIENT_ID REDIRECT_URI SCOPE [SIGN_TX] -> the URL
    python oidc_client.py finish DIR CALLBACK_URL [--verifier V]  -> JSON result
    python oidc_client.py sign-transaction DIR ISSUER CLIENT_ID HASH_B64 DESCRIPTION -> JSON

With the sign scope, the client first gets its own token (client_credentials, scope sign),
creates the signing transaction, and after the code flow reads the signature and the
certificate at /api/sign-transactions/{id}/result with the holder's access token.
"""

import json
import os
import sys

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet


def state_path(d):
    return os.path.join(d, "client-state.json")


def keygen(d):
    key = ECKey.generate_key("P-256", private=True)
    with open(os.path.join(d, "client-key.pem"), "wb") as f:
        f.write(key.as_pem(private=True))
    print(json.dumps(key.as_dict(private=False)))


def session(d, st):
    with open(os.path.join(d, "client-key.pem"), "rb") as f:
        private_key = ECKey.import_key(f.read())
    meta = requests.get(st["issuer"] + "/.well-known/openid-configuration", timeout=10).json()
    s = OAuth2Session(
        st["client_id"],
        private_key,
        scope=st["scope"],
        redirect_uri=st["redirect_uri"],
        token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"], alg="ES256"),
        code_challenge_method="S256",
    )
    return s, meta


def base_of(issuer):
    return issuer[: -len("/api/realms/main")]


def sign_transaction(d, issuer, client_id, hash_b64, description):
    st = {"issuer": issuer, "client_id": client_id, "redirect_uri": "", "scope": "sign"}
    s, meta = session(d, st)
    s.fetch_token(meta["token_endpoint"], grant_type="client_credentials", scope="sign")
    r = s.post(
        base_of(issuer) + "/api/sign-transactions",
        json={"hash_algorithm": "SHA-256", "hash": hash_b64, "description": description},
    )
    print(json.dumps({"status": r.status_code, "body": r.json()}, ensure_ascii=False))


def authorize(d, issuer, client_id, redirect_uri, scope, sign_tx=None):
    st = {"issuer": issuer, "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope}
    s, meta = session(d, st)
    st["verifier"] = generate_token(48)
    st["nonce"] = generate_token(20)
    extra = {"sign_transaction_id": sign_tx} if sign_tx else {}
    st["sign_transaction_id"] = sign_tx
    url, state = s.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=st["verifier"], nonce=st["nonce"], **extra
    )
    st["state"] = state
    with open(state_path(d), "w") as f:
        json.dump(st, f)
    print(url)


def finish(d, callback, verifier=None):
    with open(state_path(d)) as f:
        st = json.load(f)
    s, meta = session(d, st)
    out = {}
    try:
        token = s.fetch_token(
            meta["token_endpoint"],
            authorization_response=callback,
            state=st["state"],
            code_verifier=verifier or st["verifier"],
        )
    except Exception as e:  # the provider's refusal, as the library reports it
        out["error"] = getattr(e, "error", None) or type(e).__name__
        out["error_description"] = getattr(e, "description", str(e))
        print(json.dumps(out))
        return
    jwks = requests.get(meta["jwks_uri"], timeout=10).json()
    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": st["client_id"]},
        nonce={"essential": True, "value": st["nonce"]},
        sub={"essential": True},
        exp={"essential": True},
    ).validate(decoded.claims)
    userinfo = s.get(meta["userinfo_endpoint"]).json()
    if st.get("sign_transaction_id"):
        r = s.get(base_of(st["issuer"]) + f"/api/sign-transactions/{st['sign_transaction_id']}/result")
        out["sign_result"] = r.json()
    out.update(
        {
            "id_token": decoded.claims,
            "id_token_header": decoded.header,
            "userinfo": userinfo,
            "access_token": token["access_token"],
            "scope": token.get("scope"),
        }
    )
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "keygen":
        keygen(d)
    elif mode == "authorize":
        authorize(d, *sys.argv[3:8])
    elif mode == "sign-transaction":
        sign_transaction(d, *sys.argv[3:7])
    elif mode == "finish":
        v = sys.argv[sys.argv.index("--verifier") + 1] if "--verifier" in sys.argv else None
        finish(d, sys.argv[3], v)
    else:
        sys.exit(f"unknown mode {mode}")
