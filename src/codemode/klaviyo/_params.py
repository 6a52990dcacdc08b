"""Parameter validation and request building: catalog action + Python keywords -> HTTP request.

Everything here is pure (no I/O): ``build_request`` turns ``get_profiles(filter=..., page_size=50)``
into the method, URL, query pairs, JSON body and headers Klaviyo expects, or raises
:class:`ValidationError` naming the parameter and the valid options. The sandbox's dry run and the
tests call it through ``Klaviyo.prepare``.

Security: the URL is always the fixed base URL plus the catalog's path template, with every path
parameter percent-encoded as one segment, so hostile ids cannot change the host, scheme or path.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from codemode.catalog import Action, Param
from codemode.klaviyo._body import body_id_keyword, body_shape, build_body
from codemode.klaviyo._errors import ValidationError
from codemode.klaviyo._filters import Filter, FilterSyntaxError, parse_filter
from codemode.klaviyo._messages import SUGGEST_MAX
from codemode.klaviyo._messages import fail as _fail
from codemode.klaviyo._messages import options as _options
from codemode.klaviyo._multipart import build_form, form_fields
from codemode.klaviyo._pagination import CursorError, cursor_from

__all__ = [
    "BaseURL",
    "PreparedRequest",
    "accepted_params",
    "body_shape",
    "build_request",
    "filter_requirement",
    "ordered_query_params",
    "path_id_problem",
]

JSONAPI = "application/vnd.api+json"

# Keywords that are not catalog params but that every action with the matching facet accepts.
_FIELDS = "fields"
_ADDITIONAL = "additional_fields"
_INCLUDE = "include"


@dataclass(frozen=True, slots=True)
class BaseURL:
    """A validated base URL (scheme + host [+ port] [+ path prefix]); every request is built on it."""

    scheme: str
    netloc: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> BaseURL:
        """Check and normalise a base URL such as ``https://a.klaviyo.com``.

        Raises:
            ValidationError: not an absolute http(s) URL, or it carries a query, fragment or credentials.
        """
        parts = urlsplit(str(url).strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(
                f"base_url {url!r} is not an absolute http(s) URL; use e.g. 'https://a.klaviyo.com'"
            )
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValidationError(
                f"base_url {url!r} must not carry a query, fragment or credentials; "
                "pass the scheme and host only"
            )
        return cls(parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"))

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``."""
        return f"{self.scheme}://{self.netloc}"

    def __str__(self) -> str:
        return self.origin + self.prefix

    def same_origin(self, url: str) -> bool:
        """True when ``url`` has this base's scheme, host and port."""
        parts = urlsplit(url)
        return parts.scheme == self.scheme and parts.netloc.lower() == self.netloc


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A fully built request, without the credential (``Klaviyo.prepare`` returns one; no I/O)."""

    operation_id: str
    method: str
    url: str
    path: str
    query: tuple[tuple[str, str], ...]
    json: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None  # an encoded multipart form (file upload); json is None then
    form: Mapping[str, Any] | None = None  # the form fields as given, the file summarised

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (for dry runs and logs)."""
        out = {
            "operation_id": self.operation_id,
            "method": self.method,
            "url": self.url,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "json": self.json,
            "headers": dict(self.headers),
        }
        if self.form is not None:
            out["form"] = dict(self.form)
        return out


_QUERY_RANK = {"filter": 0, "sort": 1, "page_size": 3, "page_cursor": 4}


def ordered_query_params(action: Action) -> list[Param]:
    """Query parameters in signature order: required first, then filter, sort, others, paging."""
    return sorted(action.query_params, key=lambda p: (not p.required, _QUERY_RANK.get(p.name, 2)))


def accepted_params(action: Action) -> list[str]:
    """Every keyword the action accepts, in signature order (path, query, facets, body forms)."""
    names = [p.name for p in action.path_params]
    names += [p.name for p in ordered_query_params(action)]
    if action.fields:
        names.append(_FIELDS)
    if action.additional_fields:
        names.append(_ADDITIONAL)
    if action.include:
        names.append(_INCLUDE)
    if action.body is not None and action.body.multipart:
        names += list(form_fields(action))
    elif action.body is not None:
        shape = body_shape(action)
        if shape["array"]:
            names.append("ids")
        else:
            id_keyword = body_id_keyword(action, shape)
            if id_keyword is not None:
                names.append(id_keyword)
            if shape["attributes"] is not None:
                names.append("attributes")
            if shape["relationships"]:
                names.append("relationships")
            if shape["meta"]:
                names.append("meta")
        names.append("body")
    return names


def _check_unknown(action: Action, params: Mapping[str, Any], accepted: list[str]) -> None:
    for name in params:
        if name in accepted:
            continue
        hint = ""
        if name == "page_size":  # not the close 'page_cursor': the endpoint sets its own size
            raise _fail(
                action,
                "page_size is not a parameter here (Klaviyo sets this endpoint's page size); "
                f"follow every page with .all(max_items=...); valid: {', '.join(accepted)}.",
                name,
            )
        if name in action.filters or name.replace("_", ".") in action.filters:
            hint = f" To filter on it, pass filter=F.equals({name!r}, value)."
        elif action.body is not None and name in _attribute_names(action):
            kind = action.body.resource_type or "resource"
            hint = f" It is an attribute of the {kind}: pass attributes={{{name!r}: ...}}."
        raise _fail(action, f"unknown parameter {name!r}; {_options(name, accepted)}.{hint}", name)


def _attribute_names(action: Action) -> frozenset[str]:
    """The attribute names a write's body takes (empty for reads and array bodies)."""
    if action.body is None:
        return frozenset()
    schema = body_shape(action)["attributes"] or {}
    return frozenset(schema.get("properties") or ())


def _segment(action: Action, name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail(action, f"{name} must be a string id, got {type(value).__name__}", name)
    problem = path_id_problem(str(value))
    if problem is not None:
        raise _fail(action, f"{name} {problem}; pass the resource's id as Klaviyo gave it", name)
    # safe="" encodes '?', '#', '@' and ':' so a value can never leave its path segment.
    return quote(str(value), safe="")


# A server (or proxy) that decodes before routing turns these into separators or dot segments, so
# the route served could differ from the one the policy judged: they never go into a path.
_PATH_SEPARATORS = ("/", "\\")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
PATH_ID_MAX = 512
QUERY_VALUE_MAX = 16 * 1024
# Longest URL sent (httpx's own limit): several values each under QUERY_VALUE_MAX, percent-encoded
# up to three times longer, can pass it together.
URL_MAX = 64 * 1024


def path_id_problem(text: str) -> str | None:
    """Why ``text`` cannot be a path parameter (None when it can): empty, ``.``/``..``, a slash
    or backslash (also after NFKC normalisation), a percent escape, control characters, or
    longer than :data:`PATH_ID_MAX`."""
    if len(text) > PATH_ID_MAX:
        return f"is {len(text)} characters long; ids are at most {PATH_ID_MAX}"
    shown = text if len(text) <= 80 else text[:80] + "..."
    for form in (text, unicodedata.normalize("NFKC", text)):
        if form.strip() in ("", ".", ".."):
            return f"={shown!r} is not an id"
        if any(sep in form for sep in _PATH_SEPARATORS):
            return f"={shown!r} contains a path separator"
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in form):
            return f"={shown!r} contains control characters"
    if _PERCENT_ESCAPE.search(text):
        return f"={shown!r} contains a percent escape (ids are sent as given, never pre-encoded)"
    return None


def _as_list(action: Action, name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, Sequence | set | frozenset):
        items = [str(v) for v in value]
    else:
        raise _fail(action, f"{name} must be a list of names or a comma-separated string", name)
    return items


def _facet(
    action: Action, name: str, wire: str, value: Any, allowed: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, str]]:
    if not isinstance(value, Mapping):
        own = action.response.resource_type
        example = own if own in allowed else next(iter(allowed), "profile")
        raise _fail(action, f"{name} must be a dict like {{{example!r}: ['name', ...]}}", name)
    pairs: list[tuple[str, str]] = []
    for raw_type, names in value.items():
        rtype = str(raw_type)
        if rtype not in allowed and rtype.replace("_", "-") in allowed:
            rtype = rtype.replace("_", "-")
        if rtype not in allowed:
            raise _fail(
                action,
                f"{name} has no resource type {raw_type!r}; {_options(rtype, list(allowed))}",
                name,
            )
        # A field named twice is asked for once: copies only lengthen the URL (50,000 copies of
        # a valid field made one httpx refuses).
        items = list(dict.fromkeys(_as_list(action, name, names)))
        for item in items:
            if item not in allowed[rtype]:
                options = _options(item, list(allowed[rtype]))
                raise _fail(action, f"{name}[{rtype}] has no field {item!r}; {options}", name)
        if items:  # an empty list means "no preference", not an empty fieldset
            pairs.append((f"{wire}[{rtype}]", ",".join(items)))
    return pairs


def filter_requirement(summary: str) -> str:
    """The clause of an action's summary that says what filter Klaviyo requires, or "":
    "a channel filter (messages.channel: email, sms or mobile_push) is required"."""
    for clause in summary.split(";"):
        if "required" in clause and "filter" in clause:
            # "filter by a, b or c (a coupon or profile filter is required)": the aside says it
            aside = re.search(r"\(([^()]*required[^()]*)\)", clause)
            return (aside.group(1) if aside else clause).strip().rstrip(".")
    return ""


def _missing_message(action: Action, missing: list[str]) -> str:
    """Name the missing parameters; for a required filter, also what Klaviyo requires of it
    (the clause of the action's summary that says so) and the fields it can filter on."""
    message = f"missing required parameter {', '.join(map(repr, missing))}"
    if "filter" not in missing or not action.filters:
        return message
    requirement = filter_requirement(action.summary)
    if requirement:
        message += f" ({requirement})"
    listing = [f"{name} ({', '.join(ff.operators)})" for name, ff in sorted(action.filters.items())]
    return f"{message}; filterable: {'; '.join(listing)}; e.g. filter=F.equals(field, value)"


def _check_filter(action: Action, text: str) -> None:
    try:
        conditions = parse_filter(text)
    except FilterSyntaxError as exc:
        raise _fail(
            action,
            f'filter is not valid Klaviyo syntax ({exc}); write e.g. equals(email,"a@b.co") or use F.equals(...)',
            "filter",
        ) from None
    filters = action.filters
    listing = [f"{name} ({', '.join(ff.operators)})" for name, ff in sorted(filters.items())]
    for cond in conditions:
        if cond.kind == "group":
            if cond.op != "and":
                raise _fail(
                    action,
                    f"Klaviyo filters have no {cond.op}(); join conditions with and(...) or commas, "
                    "and use any(field,[...]) for alternatives",
                    "filter",
                )
            continue
        if not filters:
            continue
        spec = filters.get(cond.field)
        if spec is None:
            close = (
                difflib.get_close_matches(cond.field, list(filters), n=1, cutoff=0.5)
                if len(cond.field) <= SUGGEST_MAX
                else []
            )
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _fail(
                action,
                f"cannot filter on {cond.field!r}; {hint}filterable: {'; '.join(listing)}. "
                "Klaviyo filters on no other field: to match on one, fetch the records (filtered by "
                "a field above, or not at all) and test it in the script",
                "filter",
            )
        if cond.op not in spec.operators:
            raise _fail(
                action,
                f"operator {cond.op!r} is not allowed on {cond.field!r}; use one of: {', '.join(spec.operators)}",
                "filter",
            )
        if spec.type == "datetime" and cond.kind == "string":
            raise _fail(
                action,
                f"{cond.field} is a datetime: write it unquoted, e.g. {cond.op}({cond.field},2024-01-01T00:00:00+00:00), "
                f"or give F a datetime: F.{cond.op.replace('-', '_')}({cond.field!r}, datetime(2024, 1, 1, tzinfo=timezone.utc))",
                "filter",
            )
        if cond.op in ("any", "contains-any", "contains-all") and cond.kind != "list":
            raise _fail(
                action, f'{cond.op}({cond.field},...) takes a list, e.g. ["a","b"]', "filter"
            )


def _cursor(action: Action, base: BaseURL, value: Any) -> str:
    try:
        return cursor_from(value, origin=base.origin, same_origin=base.same_origin)
    except CursorError as exc:
        raise _fail(action, str(exc), "page_cursor") from None


def _scalar(action: Action, param_name: str, ptype: str, value: Any) -> str:
    if ptype == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(action, f"{param_name} must be an integer, got {value!r}", param_name)
        return str(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(
            action, f"{param_name} must be a string, got {type(value).__name__}", param_name
        )
    return str(value)


def _query(action: Action, params: Mapping[str, Any], base: BaseURL) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for p in action.query_params:
        if p.name not in params:
            continue
        value = params[p.name]
        if p.name == "filter":
            if not isinstance(value, str | Filter):
                raise _fail(
                    action,
                    "filter must be a string or built with F (e.g. F.equals('email', x))",
                    "filter",
                )
            text = str(value)
            if len(text) > QUERY_VALUE_MAX:
                raise _fail(
                    action,
                    f"filter is {len(text)} characters; the limit is {QUERY_VALUE_MAX}: filter on "
                    "fewer values per call (split any(...) lists) and combine the results",
                    "filter",
                )
            _check_filter(action, text)
        elif p.name == "page_cursor":
            text = _cursor(action, base, value)
        else:
            text = _scalar(action, p.name, p.type, value)
            if len(text) > QUERY_VALUE_MAX:
                raise _fail(
                    action,
                    f"{p.name} is {len(text)} characters; the limit is {QUERY_VALUE_MAX}",
                    p.name,
                )
        if p.enum and text not in [str(e) for e in p.enum]:
            raise _fail(
                action,
                f"{p.name}={text!r} is not allowed; {_options(text, [str(e) for e in p.enum])}",
                p.name,
            )
        if p.type == "int":
            number = int(text)
            if p.minimum is not None and number < p.minimum:
                raise _fail(action, f"{p.name}={number} is below the minimum {p.minimum:g}", p.name)
            if p.maximum is not None and number > p.maximum:
                raise _fail(
                    action,
                    f"{p.name}={number} is over the maximum {p.maximum:g}; use {p.maximum:g} or less and page with result.all()",
                    p.name,
                )
        pairs.append((p.wire, text))
    if _FIELDS in params:
        pairs += _facet(action, _FIELDS, "fields", params[_FIELDS], action.fields)
    if _ADDITIONAL in params:
        pairs += _facet(
            action, _ADDITIONAL, "additional-fields", params[_ADDITIONAL], action.additional_fields
        )
    if _INCLUDE in params:
        items = _as_list(action, _INCLUDE, params[_INCLUDE])
        for item in items:
            candidate = item if item in action.include else item.replace("_", "-")
            if candidate not in action.include:
                raise _fail(
                    action,
                    f"cannot include {item!r}; {_options(item, list(action.include))}",
                    _INCLUDE,
                )
        if items:
            wire = [i if i in action.include else i.replace("_", "-") for i in items]
            pairs.append(("include", ",".join(dict.fromkeys(wire))))
    return pairs


def build_request(
    action: Action,
    params: Mapping[str, Any],
    *,
    base: BaseURL,
    revision: str,
) -> PreparedRequest:
    """Validate ``params`` for ``action`` and build the request (no credential, no I/O).

    ``None`` values count as absent, so generated methods can pass every keyword through.

    Raises:
        ValidationError: an unknown, missing or invalid parameter; the message lists valid options.
    """
    params = {k: v for k, v in params.items() if v is not None}
    accepted = accepted_params(action)
    _check_unknown(action, params, accepted)
    missing = [p.name for p in action.params if p.required and p.name not in params]
    if missing:
        raise _fail(action, _missing_message(action, missing), missing[0])
    path = action.path
    path_values: dict[str, Any] = {}
    for p in action.path_params:
        value = params[p.name]
        path_values[p.name] = value
        path = path.replace("{" + p.wire + "}", _segment(action, p.name, value))
    query = _query(action, params, base)
    form = build_form(action, params) if action.body is not None and action.body.multipart else None
    body = (
        None
        if action.body is not None and action.body.multipart
        else build_body(action, params, path_values)
    )
    full_path = base.prefix + path
    url = base.origin + full_path + ("?" + urlencode(query, quote_via=quote) if query else "")
    if len(url) > URL_MAX:
        raise _fail(
            action,
            f"the request's URL would be {len(url)} characters, over the {URL_MAX} an HTTP "
            "request line may have: send shorter filters or cursors, or split the call",
        )
    # Defence in depth: the template and the encoding must keep us on the base origin.
    if not base.same_origin(url):  # pragma: no cover - unreachable with encoded segments
        raise _fail(action, "the built URL left the base origin; refusing to send")
    headers = {"Accept": JSONAPI, "revision": action.revision or revision}
    if body is not None:
        headers["Content-Type"] = JSONAPI
    if form is not None:
        headers["Content-Type"] = form.content_type
    return PreparedRequest(
        operation_id=action.id,
        method=action.method,
        url=url,
        path=full_path,
        query=tuple(query),
        json=body,
        headers=headers,
        content=form.content if form is not None else None,
        form=form.summary if form is not None else None,
    )
