"""JWT verification of the CDS client when a JWK Set is configured (CDS Hooks 2.0 section 'Trusting CDS Clients')."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient

from cramp_expert.service.app import Settings, create_app
from tests.service.conftest import request

KEY = ec.generate_private_key(ec.SECP384R1())
OTHER = ec.generate_private_key(ec.SECP384R1())
BASE = "http://testserver"


def _jwks():
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    return {"keys": [{**public, "kid": "ehr-1", "use": "sig", "alg": "ES384"}]}


def token(aud=f"{BASE}/cds-services/cramp-consult", key=KEY, kid="ehr-1", alg="ES384", **changes):
    now = int(time.time())
    claims = {
        "iss": "https://ehr.example.org",
        "aud": aud,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


@pytest.fixture(scope="module")
def client():
    settings = Settings(jwks=_jwks(), issuers=frozenset({"https://ehr.example.org"}))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def call(client, bearer):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return client.post("/cds-services/cramp-consult", json=request({"age": 60}), headers=headers)


def test_a_valid_jwt_is_accepted_once(client):
    signed = token()
    assert call(client, signed).status_code == 200
    replay = call(client, signed)
    assert replay.status_code == 401 and "jti" in replay.json()["error"]


def test_discovery_needs_a_jwt_for_its_own_url(client):
    assert client.get("/cds-services").status_code == 401
    ok = client.get(
        "/cds-services", headers={"Authorization": f"Bearer {token(aud=f'{BASE}/cds-services')}"}
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("bearer", "message"),
    [
        (None, "a JWT is required"),
        (lambda: token(aud=f"{BASE}/cds-services/other"), "not valid"),
        (lambda: token(key=OTHER), "not valid"),
        (lambda: token(kid="unknown"), "no key 'unknown'"),
        (lambda: token(exp=int(time.time()) - 3600), "not valid"),
        (lambda: token(jti=None), "not valid"),
        (lambda: token(iss="https://evil.example.org"), "issuer is not trusted"),
        (
            lambda: jwt.encode(
                {
                    "iss": "https://ehr.example.org",
                    "aud": f"{BASE}/cds-services/cramp-consult",
                    "exp": int(time.time()) + 60,
                    "iat": int(time.time()),
                    "jti": "x",
                },
                "shared-secret-of-32-bytes-or-more!!",
                algorithm="HS256",
                headers={"kid": "ehr-1"},
            ),
            "not valid",
        ),
    ],
)
def test_an_invalid_jwt_is_401_with_the_reason(client, bearer, message):
    response = call(client, bearer() if callable(bearer) else bearer)
    assert response.status_code == 401
    assert message in response.json()["error"]
