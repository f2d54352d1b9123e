"""Schemathesis hooks for `scripts/check_readme.py`'s run of docs/openapi.yaml against the
local function (`scripts/run-local.sh`). Each restriction here is reasoned; nothing else is
excluded from schemathesis' checks.

1. Header values outside ASCII, and bodies that are not UTF-8, are not generated.
   `cargo lambda watch`, the local stand-in for API Gateway, answers a bare 500 itself for
   a header byte or a body byte that is not UTF-8 (the `requests` library sends header
   values as Latin-1 bytes) before the function sees the request. A deployed function
   receives header values as JSON strings and such bodies base64-encoded in its event,
   and the handler is tested with those (tests/api/hostile.rs, tests/api/http_sources.rs).
2. `positive_data_acceptance` is replaced by `schema_valid_requests_are_refused_only_by_rules_a_schema_cannot_state`.
   The schema says which requests are well formed; some well-formed ones are still refused
   by rules no JSON Schema states: whether a phone number is valid for its country
   (libphonenumber's metadata), which two-letter codes are regions, a media URL's host
   (`media_url`, `meta.header.link`), bitbybit's and meta's positional keys being exactly
   "1".."n" (and meta's keys not mixing positions and names), `provider` being required when no
   DEFAULT_PROVIDER is set, and the provider's own refusals. Webhooks are refused without
   their provider's proof (a signature or token no schema can state: 401, and Meta's
   handshake 403 in plain text), and a path's provider or message that is not known is 404.
   Any other refusal of a schema-valid request fails the run.
"""
import schemathesis


@schemathesis.hook
def filter_case(context, case):
    headers = case.headers or {}
    if not all(str(value).isascii() for value in headers.values()):
        return False
    if isinstance(case.body, (bytes, bytearray)):
        try:
            bytes(case.body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


# (HTTP status, error code, the field it names or None for any): refusals of a well-formed
# request that only the handler or the provider can decide.
RULES = {
    (400, "INVALID_PHONE", "to"),
    (400, "INVALID_REQUEST", "country"),
    (400, "INVALID_REQUEST", "media_url"),
    (400, "INVALID_REQUEST", "meta.header.link"),
    (400, "UNKNOWN_PROVIDER", "provider"),
    (401, "WEBHOOK_UNAUTHORIZED", ""),
    (404, "NOT_FOUND", ""),
}


@schemathesis.check
def schema_valid_requests_are_refused_only_by_rules_a_schema_cannot_state(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    if response.status_code >= 500:
        return None  # not_a_server_error reports these
    kind = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if response.status_code == 403 and str(kind).startswith("text/plain"):
        return None  # Meta's handshake refused: the token is no schema's to state
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"a {response.status_code} without an error document")
    field = error.get("field") or ""
    if error.get("provider_status") is not None:
        return None  # the provider (the simulator) refused it, as a real one may
    if field.startswith("variables.") and (case.body or {}).get("provider") in ("bitbybit", "meta"):
        return None  # bitbybit's and meta's positional keys must be exactly "1".."n"
    if (response.status_code, error.get("code"), field) in RULES:
        return None
    raise AssertionError(
        f"a schema-valid request was refused: {response.status_code} {error.get('code')} "
        f"(field {field or 'none'}): {error.get('message')}"
    )
