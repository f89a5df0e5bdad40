#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (docs/fuzzing.md).

Run from anywhere: `python3 fuzz/make_seeds.py`. It (re)writes
`crates/<crate>/tests/fuzz_corpus/<target>/seed-*` from

- the crates' committed test fixtures (keystores, certificates, connector
  zips, `.properties` files, Identity Manager and Hermod JSON, the
  documented Audkenni samples), which their own generators made;
- answers in the shapes the simulators (crates/smartid-testkit) and the
  notes document, written here;
- one CMS SignedData made with `openssl cms` from the smartid-core test
  identity, when openssl is installed.

Files the fuzzer found (named by their SHA-1, without the `seed-` prefix)
are left alone. Each corpus stays small (a few files, < 50 KB).
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ROOT / "crates"


def corpus(crate, target):
    d = CRATES / crate / "tests" / "fuzz_corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    return d


def write(d, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    (d / f"seed-{name}").write_bytes(data)


def copy(d, crate, rel, name=None):
    src = CRATES / crate / rel
    write(d, name or src.name, src.read_bytes())


def status(index, body):
    """A status-selecting first byte (see each crate's fuzzing::STATUSES)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return bytes([index]) + body


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- smartid-core -----------------------------------------------------------
core_fx = "tests/fixtures"
d = corpus("smartid-core", "pkcs12")
for f in ["client-openssl3.p12", "client-legacy.p12", "keystore-keytool.p12",
          "truststore-nokeys-nopass.p12", "cacerts-passwordless.p12"]:
    copy(d, "smartid-core", f"{core_fx}/{f}")
d = corpus("smartid-core", "jks")
for f in ["keystore.jks", "truststore.jks"]:
    copy(d, "smartid-core", f"{core_fx}/{f}")
d = corpus("smartid-core", "pem")
for f in ["bundle.pem", "client-chain.pem", "client-key.pem", "other-key.pem"]:
    copy(d, "smartid-core", f"{core_fx}/{f}")
d = corpus("smartid-core", "der_cert")
copy(d, "smartid-core", f"{core_fx}/ca.cer")
copy(d, "idm-config", "tests/fixtures/pki/D-TRUST_Test_CA.cer")
copy(d, "idm-config", "tests/fixtures/pki/not-a-cert.cer")
d = corpus("smartid-core", "retry_after")
for i, v in enumerate([
    "120", "0", "18446744073709551616", " 7 ",
    "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 2094 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
    "application/json; charset=utf-8",
    "WWW-Authenticate\nBasic realm=\"hermod\", charset=\"UTF-8\"",
]):
    write(d, f"{i:02}", v)

# --- idm-config -------------------------------------------------------------
rules = "tests/fixtures/rules"
d = corpus("idm-config", "properties")
for f in ["ok-dtrust.properties", "ok-Nexus_CM.properties", "P004-lone-surrogate.properties",
          "P005-continuation-at-end.properties", "D019-key-spelled-twice.properties"]:
    copy(d, "idm-config", f"{rules}/{f}")
for f in ["escapes.properties", "continuations.properties", "icelandic-latin1.properties",
          "surrogates.properties", "separators.properties", "line-endings.properties"]:
    copy(d, "idm-config", f"tests/corpus/{f}")
d = corpus("idm-config", "connector_zip")
for f in ["ok-bundle.zip", "ok-bundle-legacy.zip", "B012-truncated.zip",
          "B013-path-traversal.zip"]:
    copy(d, "idm-config", f"{rules}/{f}")
d = corpus("idm-config", "messaging_entry_json")
for f in ["ok-messaging.json", "M004-token-not-base64.messaging.json",
          "M006-session-start.messaging.json", "M009-field-missing.messaging.json"]:
    copy(d, "idm-config", f"{rules}/{f}")
d = corpus("idm-config", "hermod_settings_json")
for f in ["ok-hermod.json", "ok-hermod-camelcase.json", "ok-hermod-content-provider.json",
          "H005-both-spellings.hermod.json", "H006-basic-auth.hermod.json"]:
    copy(d, "idm-config", f"{rules}/{f}")

# --- dtrust-client (first byte: 0 = 200, 3 = 400, 4 = 404, 6 = 500) -----------
ca_b64 = base64.b64encode((CRATES / "smartid-core" / core_fx / "ca.cer").read_bytes()).decode()
d = corpus("dtrust-client", "dtrust_rest_answer")
rest = [
    (0, {"products": [{"id": "p1", "name": "Advanced SSL ID (RSA)",
                       "requestTypes": ["PKCS10"], "keySizes": [2048, 3072]}]}),
    (0, {"requestId": "4711", "status": "PENDING", "clientReference": "ref-1"}),
    (0, {"requests": [{"requestId": "4711", "status": "ISSUED", "clientReference": "ref-1"}]}),
    (0, {"requestId": "4711", "status": "PENDING", "message": "waiting", "retryAfterSeconds": 30}),
    (0, {"certificate": ca_b64, "chain": [ca_b64]}),
    (0, {"pkcs12": base64.b64encode(b"\x30\x03\x02\x01\x03").decode(), "password": "x"}),
    (0, {"revoked": True}),
    (4, {"errorCode": "REQUEST_NOT_ISSUED", "message": "not yet", "status": "PENDING"}),
    (3, {"errorCode": "INVALID_CSR", "message": "bad CSR"}),
]
for i, (s, doc) in enumerate(rest):
    write(d, f"{i:02}", status(s, json.dumps(doc)))
d = corpus("dtrust-client", "soap_envelope")
NS = "http://ws.csm.d-trust.test/"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"


def env(body, ns=S11):
    return (f"<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"{ns}\"><S:Body>"
            f"{body}</S:Body></S:Envelope>")


def op(name, inner):
    return f"<ns2:{name}Response xmlns:ns2=\"{NS}\">{inner}</ns2:{name}Response>"


wrapped = "\n".join(ca_b64[i:i + 64] for i in range(0, len(ca_b64), 64))
soap = [
    (0, env(op("getProducts", "<product><id>p1</id><name>Advanced SSL ID (RSA)</name>"
                              "<requestType>PKCS10</requestType><keySize>2048</keySize></product>"))),
    (0, env(op("submitRequest", "<requestId>4711</requestId><status>PENDING</status>"))),
    (0, env(op("findRequests", "<request><requestId>4711</requestId><status>ISSUED</status>"
                               "<clientReference>r&amp;1</clientReference></request>"))),
    (0, env(op("getRequestStatus", "<requestId>4711</requestId><status>PENDING</status>"
                                   "<message>w</message><retryAfterSeconds>30</retryAfterSeconds>"), S12)),
    (0, env(op("getCertificate", f"<certificate>{wrapped}</certificate>"
                                 f"<chainCertificate>{ca_b64}</chainCertificate>"))),
    (0, env(op("revokeCertificate", "<revoked>true</revoked>"))),
    (6, env("<S:Fault><faultcode>S:Server</faultcode><faultstring>not issued</faultstring>"
            f"<detail><ns2:error xmlns:ns2=\"{NS}\"><code>REQUEST_NOT_ISSUED</code>"
            "<message>not yet</message><status>PENDING</status></ns2:error></detail></S:Fault>")),
    (6, env("<S:Fault><S:Code><S:Value>S:Sender</S:Value></S:Code><S:Reason>"
            "<S:Text xml:lang=\"en\">bad</S:Text></S:Reason><S:Detail>"
            f"<ns2:error xmlns:ns2=\"{NS}\"><code>INVALID_CSR</code><message>m</message>"
            "</ns2:error></S:Detail></S:Fault>", S12)),
]
for i, (s, doc) in enumerate(soap):
    write(d, f"{i:02}", status(s, doc))

# --- hermod-client (first byte: 0 = 200, 3 = 400, 4 = 401, 7 = 500) ----------
d = corpus("hermod-client", "hermod_answer")
answer = (CRATES / "hermod-client" / "tests/fixtures/command-answer.json").read_bytes()
write(d, "00-command-answer", status(0, answer))
write(d, "01-provision", status(0, json.dumps({
    "commandId": 12, "commandType": "PROVISION", "state": "IN_PROGRESS",
    "destinations": [{"to": "@tmp", "bid": "b", "mid": "m",
                      "uri": "com.nexusgroup.plugout:///?url=https%3A%2F%2Fh%2Fhermod%2Frest%2Fms%2Fb&token=t",
                      "location": "https://h:20401/hermod/rest/ms/b/m"}]})))
write(d, "02-error", status(3, json.dumps({"error": "INVALID_COMMAND", "message": "bad"})))
write(d, "03-unauthorized", status(4, "Unauthorized"))
d = corpus("hermod-client", "hermod_callback")
for i, doc in enumerate([
    {"commandId": "688", "commandType": "SIGN", "state": "FINISHED",
     "result": {"signatures": ["MIAGCSqGSIb3DQEHAqCAMIACAQEx"]}},
    {"commandHeader": {"externalId": "ext-1"}, "commandType": "PROVISION", "state": "FINISHED",
     "response": {"jws": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}},
    {"commandId": 7, "state": "CANCELLED", "externalId": "x"},
    {"commandId": "9", "commandType": "STARTPINRESET", "answer": {"nonce": "bm9uY2U="}},
    {"commandId": "10", "commandType": "PING", "state": "FINISHED",
     "result": {"pong": True, "deviceinfo": {"os": "linux"}}},
]):
    write(d, f"{i:02}", json.dumps(doc))
d = corpus("hermod-client", "hermod_callback_auth")
for i, v in enumerate([
    "Basic " + base64.b64encode(b"fuzz:fuzz-password").decode(),
    "basic   " + base64.b64encode(b"fuzz:wrong").decode() + "  ",
    "Bearer abc", "Basic", "Basic ###",
]):
    write(d, f"{i:02}", v)

# --- audkenni-ciba (first byte: 0 = 200, 2 = 400, 3 = 401, 5 = 429, 7 = 503) ---
afx = CRATES / "audkenni-ciba" / "tests" / "fixtures"
claims = json.loads((afx / "seed-id-token-claims.json").read_text())
d = corpus("audkenni-ciba", "ciba_answer")
ciba = [
    (0, {"auth_req_id": "req-1", "expires_in": 300, "interval": 5}),
    (0, {"access_token": "at", "token_type": "Bearer", "expires_in": 3599,
         "refresh_token": "rt", "id_token": "a.b.c", "scope": "openid"}),
    (2, {"error": "authorization_pending"}),
    (2, {"error": "slow_down", "error_description": "poll slower"}),
    (2, {"error": "expired_token"}),
    (0, {"issuer": "https://idp-dev.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni",
         "backchannel_authentication_endpoint": "https://idp-dev.audkenni.is/bc-authorize",
         "token_endpoint": "https://idp-dev.audkenni.is/access_token",
         "jwks_uri": "https://idp-dev.audkenni.is/connect/jwk_uri",
         "backchannel_token_delivery_modes_supported": ["poll", "ping"]}),
]
for i, (s, doc) in enumerate(ciba):
    write(d, f"{i:02}", status(s, json.dumps(doc)))
write(d, "06-access-denied", status(2, (afx / "error-access-denied-mssp_105.json").read_bytes()))
write(d, "07-maintenance", status(7, "<html>maintenance</html>"))
d = corpus("audkenni-ciba", "id_token")
sig = b64url(bytes((i * 37 + 11) % 256 for i in range(256)))
for i, (alg, body) in enumerate([
    ("RS256", claims),
    ("PS256", dict(claims, aud=["exampleclient", "other"], acr="sim-sign")),
    ("ES256", {k: v for k, v in claims.items() if k != "signature"}),
]):
    header = {"alg": alg, "kid": "fuzz", "typ": "JWT"}
    write(d, f"{i:02}-{alg}", f"{b64url(json.dumps(header))}.{b64url(json.dumps(body))}.{sig}")
d = corpus("audkenni-ciba", "jwks")
write(d, "00", json.dumps({"keys": [
    {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "e": "AQAB",
     "n": b64url(b"\xc1" + bytes((i * 91 + 7) % 256 for i in range(255)))},
    {"kty": "EC", "kid": "e1", "use": "sig", "crv": "P-256",
     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
    {"kty": "oct", "k": "c2VjcmV0"},
    {"kty": "RSA", "kid": "enc", "use": "enc", "e": "AQAB", "n": "AQAB"},
]}))
write(d, "01", json.dumps({"keys": []}))
d = corpus("audkenni-ciba", "cms_signed_data")
write(d, "00-audkenni-sample",
      base64.b64decode((afx / "seed-signature.b64").read_text().strip()))
if shutil.which("openssl"):
    core = CRATES / "smartid-core" / core_fx
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content.txt"
        content.write_text("Login to Audkenni")
        out = subprocess.run(
            ["openssl", "cms", "-sign", "-binary", "-nodetach", "-outform", "DER",
             "-md", "sha256", "-in", str(content), "-signer", str(core / "client.pem"),
             "-inkey", str(core / "client-key.pem"), "-certfile", str(core / "ca.pem")],
            capture_output=True, check=False)
        if out.returncode == 0:
            write(d, "01-openssl-rsa", out.stdout)
        else:
            print("openssl cms failed:", out.stderr.decode(), file=sys.stderr)

for crate in sorted(CRATES.iterdir()):
    base = crate / "tests" / "fuzz_corpus"
    if base.is_dir():
        for t in sorted(base.iterdir()):
            size = sum(f.stat().st_size for f in t.iterdir())
            print(f"{crate.name}/{t.name}: {len(list(t.iterdir()))} files, {size} bytes")
