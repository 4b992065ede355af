"""The ASGI application: CDS Hooks 2.0 discovery and services, the web page, the reports.

- `GET /cds-services`: the discovery document, each service with its prefetch templates.
- `POST /cds-services/cramp-consult` (patient-view): a card per red flag and for the top causes.
- `POST /cds-services/cramp-order-select` and `cramp-order-sign`: a card on a draft quinine
  order, and on an order that brings a statin interaction or a statin red flag, each with the
  suggestion to remove the order.
- `GET /` and `POST /consult`: the interview as a form and the report; `GET /report/{token}`:
  the report a card links to (its result kept for REPORT_TTL seconds: in this process's memory,
  or, with several worker processes, in a private folder all of them read; rendered on demand).

Following the CDS Hooks 2.0 specification: prefetch that is missing is fetched from the
client's FHIR server when `fhirServer` and `fhirAuthorization` are given, otherwise (or when
that fails) the answer is 412 Precondition Failed; a null prefetch value means no data.
Malformed requests get 400 with a message; bodies above the limit get 413. When a JWK Set is
configured, every CDS Hooks call must carry a JWT signed with an asymmetric algorithm by one of
its keys, with `aud` the service's URL, and `iss`, `exp`, `iat` and an unseen `jti` (401
otherwise). CORS headers allow browser-based clients. The log holds method, path, status and
timing, never a request body or anything about the patient.

One `Consultant` is built per worker process, when the application starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from cramp_expert.api import Consultant
from cramp_expert.errors import InputError
from cramp_expert.fhir.mapping import fhir_map
from cramp_expert.fhir.read import facts_from_fhir, load_fhir_bytes
from cramp_expert.interview import AnswerError, Interview
from cramp_expert.patient.medications import match_medication
from cramp_expert.service import web
from cramp_expert.service.cards import contract, order_card, patient_cards

log = logging.getLogger("cramp_expert.service")


class JSONResponse(Response):
    """A JSON answer encoded by msgspec (a tenth of the json module's time for a set of cards)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


MAX_BODY = 8 * 1024 * 1024
"""Largest request body read (a prefetch of one patient's history; a form is far smaller)."""
FORM_LIMIT = 256 * 1024
"""Largest web-form post (the answers so far and one prompt's fields)."""
REPORT_TTL = 3600
MAX_REPORTS = 300
SETTINGS_ENV = "CRAMP_EXPERT_SERVE_SETTINGS"
"""How `serve --workers N` hands its settings to each worker process (JSON)."""
FETCH_TIMEOUT = 5.0
_LOINC = "http://loinc.org|"

# Statin and quinine concerns an order may bring (clinical brief 5.4, 8.3).
ORDER_CONCERNS = (
    "rec_review_statin_interaction",
    "rf_rhabdomyolysis",
    "rec_stop_statin_pending_review",
    "rf_quinine_toxicity",
    "rec_stop_quinine",
)


@dataclass
class Settings:
    """How the service runs (from `cramp-expert serve`'s options)."""

    kb_root: Any = None
    jwks: dict[str, Any] | None = None
    issuers: frozenset[str] = frozenset()
    """Trusted `iss` values (empty: any issuer whose key is in the JWK Set)."""
    public_url: str | None = None
    """The URL clients call (for JWT `aud` and report links); default: the request's own."""
    max_body: int = MAX_BODY
    cors_origins: tuple[str, ...] = ("*",)
    form_key: str | None = None
    """Hex key signing the web interview's answers carried in its pages (HMAC-SHA256); made
    at start-up when not given, the same for every worker process of one `serve`."""
    report_dir: str | None = None
    """With several worker processes: the private folder where results for report links are
    kept, so that any worker can show any report (None: this process's memory)."""

    def to_json(self) -> str:
        """The settings for a worker process (SETTINGS_ENV)."""
        data = {
            **self.__dict__,
            "issuers": sorted(self.issuers),
            "cors_origins": list(self.cors_origins),
        }
        data["kb_root"] = str(self.kb_root) if self.kb_root is not None else None
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """The settings `to_json` wrote."""
        data = json.loads(text)
        data["issuers"] = frozenset(data["issuers"])
        data["cors_origins"] = tuple(data["cors_origins"])
        data["kb_root"] = Path(data["kb_root"]) if data["kb_root"] else None
        return cls(**data)


class HTTPProblem(Exception):
    """An error answered with a status and a message (never a traceback)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _State:
    consultant: Consultant
    settings: Settings
    reports: OrderedDict[str, tuple[float, Any]] = field(default_factory=OrderedDict)
    seen_jti: OrderedDict[str, float] = field(default_factory=OrderedDict)
    jwks: Any = None
    swept: float = 0.0
    """When expired report results were last removed from the shared folder."""

    @property
    def form_key(self) -> bytes:
        assert self.settings.form_key is not None  # made by create_app
        return bytes.fromhex(self.settings.form_key)


def _loinc_codes(consultant: Consultant) -> str:
    fmap = fhir_map(consultant.kb.knowledge)
    codes = [*fmap.loinc, *fmap.pregnancy["status_loinc"], *fmap.pregnancy["gestation_loinc"]]
    return ",".join(_LOINC + c for c in sorted(codes))


def prefetch_templates(consultant: Consultant) -> dict[str, str]:
    """What patient-view asks the client to send (FHIR search URLs with prefetch tokens)."""
    from cramp_expert.fhir.questionnaire import QUESTIONNAIRE_URL

    pid = "{{context.patientId}}"
    return {
        "patient": f"Patient/{pid}",
        "conditions": f"Condition?patient={pid}&clinical-status=active,recurrence,relapse",
        "medicationRequests": f"MedicationRequest?patient={pid}&status=active",
        "medicationStatements": f"MedicationStatement?patient={pid}&status=active",
        "observations": f"Observation?patient={pid}&code={_loinc_codes(consultant)}&_sort=-date",
        "history": f"QuestionnaireResponse?patient={pid}&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored",
    }


SERVICES = {
    "cramp-consult": {
        "hook": "patient-view",
        "title": "Night-time leg cramps: causes and red flags (cramp-expert)",
        "description": "Explains likely causes of nocturnal leg cramps and raises red flags, "
        "each card with the rules and facts behind it and the references.",
    },
    "cramp-order-select": {
        "hook": "order-select",
        "title": "Quinine and statin orders (cramp-expert)",
        "description": "Warns on a quinine order for cramps and on a statin order, or an order "
        "interacting with a statin, that raises the risk of myopathy; suggests removing it.",
    },
    "cramp-order-sign": {
        "hook": "order-sign",
        "title": "Quinine and statin orders at signing (cramp-expert)",
        "description": "The same checks as cramp-order-select, when the orders are signed.",
    },
}


def discovery(consultant: Consultant) -> dict[str, Any]:
    """The discovery document of `GET /cds-services`."""
    templates = prefetch_templates(consultant)
    services = []
    for service_id, info in SERVICES.items():
        entry = {"id": service_id, **info, "prefetch": dict(templates)}
        if info["hook"] != "patient-view":
            entry["usageRequirements"] = (
                "Send the draft orders (context.draftOrders); the prefetch lets the service "
                "see the patient's other medicines."
            )
        services.append(entry)
    return {"services": services}


def _source(base: str, consultant: Consultant) -> dict[str, Any]:
    return {
        "label": f"cramp-expert (knowledge base {consultant.kb.version})",
        "url": base.rstrip("/") + "/",
        "topic": {
            "system": "https://cramp-expert.example/fhir/CodeSystem/topic",
            "code": "nocturnal-leg-cramps",
            "display": "Nocturnal leg cramps",
        },
    }


# --- request plumbing ------------------------------------------------------------------------
async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPProblem(400, "Content-Length must be a number")
        if int(declared) > limit:
            raise HTTPProblem(413, f"request body of {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, f"request body larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise HTTPProblem(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HTTPProblem(400, "the body must be a JSON object (a CDS Hooks request)")
    return data


def _base(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


def _verify_jwt(request: Request, state: _State, audience: str) -> None:
    if state.jwks is None:
        return
    import jwt

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPProblem(401, "a JWT is required: Authorization: Bearer <jwt>")
    try:
        unverified = jwt.get_unverified_header(token)
        kid = unverified.get("kid")
        if not kid:
            raise HTTPProblem(401, "the JWT header has no kid")
        key = next((k for k in state.jwks.keys if k.key_id == kid), None)
        if key is None:
            raise HTTPProblem(401, f"no key '{kid}' in the configured JWK Set")
        # Asymmetric algorithms only (CDS Hooks 2.0: never `none`, never HMAC).
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[
                "RS256",
                "RS384",
                "RS512",
                "ES256",
                "ES384",
                "ES512",
                "PS256",
                "PS384",
                "PS512",
            ],
            audience=audience,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            leeway=30,
        )
    except jwt.PyJWTError as exc:
        raise HTTPProblem(401, f"the JWT is not valid: {exc}") from None
    if state.settings.issuers and claims["iss"] not in state.settings.issuers:
        raise HTTPProblem(401, "the JWT's issuer is not trusted")
    now = time.time()
    while state.seen_jti and next(iter(state.seen_jti.values())) < now - 600:
        state.seen_jti.popitem(last=False)
    if claims["jti"] in state.seen_jti:
        raise HTTPProblem(401, "the JWT was used before (jti replayed)")
    state.seen_jti[str(claims["jti"])] = float(claims["exp"])
    if len(state.seen_jti) > 100_000:
        state.seen_jti.popitem(last=False)


def _store_report(state: _State, facts: Any, values: list[Any], order: Any = None) -> str:
    """Keep what gives a report for its link; return the link's unguessable token.

    Not the result: the cards need no robustness analysis (the most-informative search, the
    larger part of a consultation's cost), the report shows it, and most reports are never
    opened. So the report consults again, with robustness, when its link is opened. In memory
    the patient's facts are kept; in the folder shared by several workers, what gives them (the
    prefetch as received, and the order it was consulted with): a few kilobytes written.
    """
    token = secrets.token_urlsafe(18)
    folder = state.settings.report_dir
    if folder is not None:
        now = time.time()
        if now - state.swept > 60:  # expired results go once a minute, not on every request
            state.swept = now
            for old in Path(folder).glob("*.json"):
                try:
                    if old.stat().st_mtime < now - REPORT_TTL:
                        old.unlink()
                except OSError:
                    pass  # another worker removed it first
        # Written whole under a temporary name, then renamed: a reader never sees half a file.
        # No fsync: a report link outliving a crash of the machine is not needed.
        partial = Path(folder) / f".{token}.tmp"
        encode = msgspec.json.encode
        partial.write_bytes(b'{"order":' + encode(order) + b',"values":' + encode(values) + b"}")
        os.replace(partial, Path(folder) / f"{token}.json")
        return token
    expiry = time.monotonic() + REPORT_TTL
    while state.reports and (
        len(state.reports) >= MAX_REPORTS
        or next(iter(state.reports.values()))[0] < time.monotonic()
    ):
        state.reports.popitem(last=False)
    state.reports[token] = (expiry, facts)
    return token


def _stored_report(state: _State, token: str) -> Any:
    if not token.replace("-", "").replace("_", "").isalnum():
        return None
    folder = state.settings.report_dir
    if folder is not None:
        path = Path(folder) / f"{token}.json"
        try:
            if path.stat().st_mtime < time.time() - REPORT_TTL:
                return None
            stored = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        values = list(stored["values"]) + ([stored["order"]] if stored["order"] else [])
        return state.consultant.consult_facts(_facts(state.consultant, values))
    entry = state.reports.get(token)
    if entry is None or entry[0] < time.monotonic():
        return None
    return state.consultant.consult_facts(entry[1])


# --- prefetch --------------------------------------------------------------------------------
def _fill(template: str, context: dict[str, Any]) -> str:
    out = template
    for key, value in context.items():
        if isinstance(value, str):
            token = "{{context." + key + "}}"
            out = out.replace(token, urllib.parse.quote(value, safe=""))
    return out


def _fetch(server: str, relative: str, token: str) -> Any:
    url = server.rstrip("/") + "/" + relative
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            raw = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # its socket, left open otherwise
        raise
    return load_fhir_bytes("<fhirServer>", raw)


async def _prefetch(data: dict[str, Any], consultant: Consultant) -> list[Any]:
    prefetch = data.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise HTTPProblem(400, "prefetch must be a JSON object")
    templates = prefetch_templates(consultant)
    missing = [key for key in templates if key not in prefetch]
    values = [prefetch[key] for key in templates if key in prefetch and prefetch[key] is not None]
    if missing:
        server = data.get("fhirServer")
        auth = data.get("fhirAuthorization")
        token = auth.get("access_token") if isinstance(auth, dict) else None
        if not (isinstance(server, str) and isinstance(token, str)):
            raise HTTPProblem(
                412,
                f"prefetch {', '.join(missing)} missing and no fhirServer with fhirAuthorization to fetch it",
            )
        context = data.get("context") or {}
        for key in missing:
            try:
                values.append(
                    await run_in_threadpool(_fetch, server, _fill(templates[key], context), token)
                )
            except (OSError, ValueError, InputError) as exc:
                reason = type(exc).__name__
                raise HTTPProblem(
                    412, f"prefetch {key} missing and the FHIR server could not give it ({reason})"
                ) from None
    for value in values:
        if not isinstance(value, dict) or "resourceType" not in value:
            raise HTTPProblem(400, "every prefetch value must be a FHIR resource, a Bundle or null")
    return values


def _check_request(data: dict[str, Any], hook: str) -> dict[str, Any]:
    if data.get("hook") != hook:
        raise HTTPProblem(400, f"hook must be '{hook}' for this service (got {data.get('hook')!r})")
    if not isinstance(data.get("hookInstance"), str):
        raise HTTPProblem(400, "hookInstance (a UUID text) is required")
    context = data.get("context")
    if not isinstance(context, dict):
        raise HTTPProblem(400, "context must be a JSON object")
    if not isinstance(context.get("patientId"), str):
        raise HTTPProblem(400, "context.patientId (a text) is required")
    if data.get("fhirAuthorization") is not None and not data.get("fhirServer"):
        raise HTTPProblem(400, "fhirAuthorization is given without fhirServer (cds-r-1)")
    return context


def _facts(consultant: Consultant, values: list[Any]) -> Any:
    try:
        return facts_from_fhir(values, consultant.kb.knowledge, "<prefetch>")
    except InputError as exc:
        details = "; ".join(p.render() for p in exc.problems[:5])
        raise HTTPProblem(400, f"the prefetch is not valid FHIR R4: {details}") from None


# --- handlers --------------------------------------------------------------------------------
def create_app(settings: Settings | None = None) -> Starlette:
    """The application; its consultant is built when the worker starts."""
    settings = settings or Settings()
    if settings.form_key is None:
        settings.form_key = secrets.token_hex(32)
    holder: dict[str, _State] = {}

    def state() -> _State:
        if "state" not in holder:
            consultant = Consultant(settings.kb_root)
            st = _State(consultant, settings)
            if settings.jwks is not None:
                import jwt

                st.jwks = jwt.PyJWKSet.from_dict(settings.jwks)
            holder["state"] = st
        return holder["state"]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state()  # the consultant of this worker process, built before the first request
        yield

    async def get_discovery(request: Request) -> Response:
        st = state()
        _verify_jwt(request, st, _base(request, settings) + "/cds-services")
        return JSONResponse(discovery(st.consultant))

    async def call_service(request: Request) -> Response:
        st = state()
        service_id = request.path_params["service_id"]
        if service_id not in SERVICES:
            raise HTTPProblem(404, f"no CDS service '{service_id}'")
        base = _base(request, settings)
        _verify_jwt(request, st, f"{base}/cds-services/{service_id}")
        data = _json_object(await _body(request, settings.max_body))
        hook = SERVICES[service_id]["hook"]
        context = _check_request(data, hook)
        values = await _prefetch(data, st.consultant)
        # NOTE: consulted on the event loop's own thread: the consultant's experta engine is not
        # thread-safe, the work is CPU-bound (milliseconds), and one loop per worker process
        # runs one consultation at a time. More throughput comes from more processes.
        if hook == "patient-view":
            cards = _patient_view(st, values, base)
        else:
            cards = _orders(st, values, context, hook, base)
        return JSONResponse({"cards": cards})

    async def feedback(request: Request) -> Response:
        st = state()
        service_id = request.path_params["service_id"]
        if service_id not in SERVICES:
            raise HTTPProblem(404, f"no CDS service '{service_id}'")
        _verify_jwt(request, st, f"{_base(request, settings)}/cds-services/{service_id}/feedback")
        data = _json_object(await _body(request, settings.max_body))
        if not isinstance(data.get("feedback"), list):
            raise HTTPProblem(400, "feedback must be a list")
        return Response(status_code=200)

    async def home(_request: Request) -> Response:
        st = state()
        interview = Interview(st.consultant)
        return _interview_page(st, interview, [], web.FormState())

    async def consult_form(request: Request) -> Response:
        # The interview is replayed on the loop's thread, like a consultation (see call_service).
        st = state()
        form = web.parse_form(await _body(request, FORM_LIMIT))
        token = (form.get(web.STATE) or [""])[0]
        action = (form.get(web.ACTION) or ["next"])[0]
        if action not in web.ACTIONS:
            return HTMLResponse(web.message_page(f"unknown action '{action}'"), status_code=400)
        try:
            saved = web.unsign(token, st.form_key)
            interview = web.restore(st.consultant, saved)
        except web.StateError as exc:
            message = f"This consultation cannot be continued: {exc}. Please start again."
            return HTMLResponse(web.message_page(message), status_code=400)
        typed = [dict(e.get("items") or {}) for e in saved.transcript]
        if action == "back":
            popped = typed.pop() if typed else {}
            if interview.back() is None:
                return _interview_page(
                    st, interview, typed, saved, problems=["Nothing to go back to."]
                )
            return _interview_page(st, interview, typed, None, prefill=popped)
        prompt = interview.current()
        if action == "finish" or prompt is None:
            return _report(st, interview, typed)
        if (form.get(web.SHOWN) or [""])[0] != prompt.id:
            note = "The page was out of date: this is the question to answer now."
            return _interview_page(st, interview, typed, saved, problems=[note])
        if action == "skip":
            said = interview.skip()
            return _interview_page(st, interview, typed, None, read_back=said)
        answers = web.answers_from_form(prompt, form)
        entered: dict[str, Any] = {k: v for k, v in answers.items() if v is not None}
        if prompt.kind == "checklist":
            entered = {k: v for k, v in entered.items() if v == "yes"}
            entered[web.OTHERS] = (form.get(web.OTHERS) or ["unknown"])[0]
        if action == "why":
            try:
                level = max(0, min(int((form.get(web.WHY) or ["0"])[0]), 20))
            except ValueError:
                level = 0
            return _interview_page(
                st,
                interview,
                typed,
                saved,
                prefill=entered,
                why=interview.why(level, prompt),
                why_level=level + 1,
            )
        errors = web.item_errors(prompt, answers)
        problems: list[str] = []
        if not errors:
            try:
                said = interview.submit_items(answers)
            except AnswerError as exc:
                # The patient-file check of the whole answer: beside the field when there is one.
                if len(prompt.items) == 1 and prompt.kind != "checklist":
                    errors = {prompt.items[0].key: str(exc)}
                else:
                    problems = [str(exc)]
            else:
                return _interview_page(st, interview, [*typed, entered], None, read_back=said)
        return _interview_page(
            st,
            interview,
            typed,
            saved,
            prefill=entered,
            errors=errors,
            problems=problems,
            status=400,
        )

    async def report(request: Request) -> Response:
        st = state()
        result = _stored_report(st, request.path_params["token"])
        if result is None:
            return HTMLResponse(
                web.message_page("This report has expired; open the chart again."),
                status_code=404,
            )
        return HTMLResponse(web.report_page(result, st.consultant.kb))

    async def problem(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPProblem)
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def server_error(_request: Request, exc: Exception) -> Response:
        # The exception's type only: its message may quote the record.
        log.error("internal error: %s", type(exc).__name__)
        return JSONResponse({"error": "internal error"}, status_code=500)

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/consult", consult_form, methods=["POST"]),
        Route("/report/{token}", report, methods=["GET"]),
        Route("/cds-services", get_discovery, methods=["GET"]),
        Route("/cds-services/{service_id}", call_service, methods=["POST"]),
        Route("/cds-services/{service_id}/feedback", feedback, methods=["POST"]),
    ]
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPProblem: problem, Exception: server_error},
    )


def _interview_page(
    st: _State,
    interview: Interview,
    typed: list[dict[str, Any]],
    saved: web.FormState | None,
    *,
    prefill: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    read_back: str = "",
    why: str = "",
    why_level: int = 0,
    status: int = 200,
) -> Response:
    """The prompt asked now (or the report when nothing more matters), carrying the answers.

    `saved`: the state posted, carried again unchanged (a refused answer, WHY); None: the
    interview's own state after what was just done.
    """
    prompt = interview.current()
    if prompt is None:
        return _report(st, interview, typed)
    state_now = saved if saved is not None else web.state_of(interview, typed)
    page = web.prompt_page(
        prompt,
        web.sign(state_now, st.form_key),
        typed=prefill,
        errors=errors,
        problems=problems,
        read_back=read_back,
        why=why,
        why_level=why_level,
        can_go_back=bool(interview.history),
    )
    return HTMLResponse(page, status_code=status)


def _report(st: _State, interview: Interview, typed: list[dict[str, Any]]) -> Response:
    token = web.sign(web.state_of(interview, typed), st.form_key)
    page = web.report_page(
        interview.result(), st.consultant.kb, token if interview.history else None
    )
    return HTMLResponse(page)


def concluded(result: Any) -> set[str]:
    """Every id a result concludes (red flags, causes, differentials, advice, tests)."""
    data = contract(result)
    return {item["id"] for key in _CONCLUDED for item in data[key]}


_CONCLUDED = ("causes", "red_flags", "differentials", "recommendations", "investigations")


def _patient_view(st: _State, values: list[Any], base: str) -> list[dict[str, Any]]:
    consultant = st.consultant
    facts = _facts(consultant, values)
    result = consultant.consult_facts(facts, with_robustness=False)
    token = _store_report(st, facts, values)
    return patient_cards(consultant, result, _source(base, consultant), f"{base}/report/{token}")


def _draft_medication_orders(context: dict[str, Any], hook: str) -> list[dict[str, Any]]:
    bundle = context.get("draftOrders")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise HTTPProblem(400, "context.draftOrders must be a FHIR Bundle")
    orders = [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") in ("MedicationRequest",)
    ]
    if hook == "order-select":
        selections = context.get("selections")
        if not isinstance(selections, list):
            raise HTTPProblem(400, "context.selections (a list) is required for order-select")
        chosen = {str(s) for s in selections}
        orders = [o for o in orders if f"MedicationRequest/{o.get('id')}" in chosen]
    return orders


def _orders(
    st: _State, values: list[Any], context: dict[str, Any], hook: str, base: str
) -> list[dict[str, Any]]:
    from cramp_expert.fhir.read import _Reader

    consultant = st.consultant
    knowledge = consultant.kb.knowledge
    orders = _draft_medication_orders(context, hook)
    base_facts = _facts(consultant, values)
    before = concluded(consultant.consult_facts(base_facts, with_robustness=False))
    reader = _Reader(knowledge, fhir_map(knowledge), __import__("datetime").date.today())
    source = _source(base, consultant)
    cards = []
    for order in orders:
        name, _how = reader.medication_name(order.get("medicationCodeableConcept"))
        if name is None:
            continue
        match = match_medication(name, knowledge)
        drug = " + ".join(match.drugs) or name
        taken = {**order, "status": "active", "intent": "order"}
        with_order = _facts(consultant, [*values, taken])
        result = consultant.consult_facts(with_order, with_robustness=False)
        now = concluded(result)
        brought = [cid for cid in ORDER_CONCERNS if cid in now and cid not in before]
        if "med_quinine" in match.classes:
            concern = (
                "quinine is not recommended for night-time leg cramps (MHRA 2010, FDA 2010): "
                "serious and sometimes fatal blood disorders"
            )
            ids = ["rec_avoid_quinine", *[c for c in brought if c != "rec_avoid_quinine"]]
            ids = [c for c in ids if c in knowledge.conclusions]
        elif brought:
            concern = (
                "raises the risk of statin myopathy for this patient"
                if "rec_review_statin_interaction" in brought
                else "this patient's results already point to statin muscle toxicity"
            )
            ids = brought
        else:
            continue
        token = _store_report(st, with_order, values, taken)
        cards.append(
            order_card(
                consultant, result, order, drug, concern, ids, source, f"{base}/report/{token}"
            )
        )
    return cards


def app_from_environment() -> Starlette:
    """The application of one worker process of `serve --workers N` (uvicorn's factory)."""
    return create_app(Settings.from_json(os.environ[SETTINGS_ENV]))


def run(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted (uvicorn), in `workers` processes, each with its consultant."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": True,
        "server_header": False,
        "timeout_keep_alive": 5,
    }
    if workers <= 1:
        uvicorn.run(create_app(settings), **options)
        return
    with tempfile.TemporaryDirectory(prefix="cramp-expert-reports-") as folder:
        # mkdtemp's folder is readable by this user only: the results it holds are about patients.
        settings.report_dir = folder
        settings.form_key = settings.form_key or secrets.token_hex(32)
        os.environ[SETTINGS_ENV] = settings.to_json()
        uvicorn.run(
            "cramp_expert.service.app:app_from_environment",
            factory=True,
            workers=workers,
            **options,
        )


__all__ = [
    "SERVICES",
    "Settings",
    "app_from_environment",
    "create_app",
    "discovery",
    "prefetch_templates",
    "run",
]
