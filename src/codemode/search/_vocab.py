"""The domain vocabulary: the words marketers and developers use, folded onto Klaviyo's concepts.

Two tables, both written in plain words and stemmed at import:

* ``CONCEPTS``: surface phrases -> a concept term (``~profile``). Documents and queries both get the
  concept terms of the phrases they contain, so "subscribers", "contacts" and "customers" all meet
  the profile actions even where an annotation did not list that exact word.
* ``CUES``: phrases that say what the caller wants to *do* (read, create, change, delete, bulk,
  report, IDs only, client-side...). They feed the intent scorer, not the term matcher.

Entries are about meaning in the Klaviyo domain, never copies of test queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from codemode.search._text import stem, words

__all__ = ["CONCEPTS", "CUES", "FACETS", "HEADS", "MAX_PHRASE", "RESOURCE_HEADS", "phrase_table"]

# concept -> phrases that mean it. A phrase may belong to several concepts ("audience").
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "profile": (
        "profile", "contact", "subscriber", "customer", "shopper", "person", "people", "member",
        "recipient", "lead", "buyer", "user", "client record", "audience member", "email address",
        "phone number", "who is on", "who is in", "who s on", "who are on", "who are in", "who joined",
    ),
    "list": ("mailing list", "subscriber list", "static list", "email list", "audience list"),
    "segment": ("segment", "dynamic audience", "cohort", "smart list", "audience rule"),
    "audience": ("audience", "list", "segment", "recipient"),
    "campaign": (
        "campaign", "newsletter", "blast", "email blast", "broadcast", "promo email", "mailing",
        "one-off send", "sms campaign", "push campaign",
    ),
    "flow": (
        "flow", "automation", "journey", "drip", "series", "welcome series", "autoresponder",
        "workflow", "sequence", "automated email", "trigger email",
    ),
    "flow_step": ("flow action", "step", "time delay", "delay", "split", "conditional split", "node"),
    "product": (
        "product", "item", "catalog item", "merchandise", "goods", "article", "feed",
    ),
    "variant": (
        "variant", "sku", "size", "color", "colour", "colorway", "option", "flavor", "model number",
    ),
    "stock": ("stock", "inventory", "restock", "quantity", "in stock", "out of stock", "sold out"),
    "category": ("category", "collection", "department", "product group", "product type"),
    "coupon": ("coupon", "promotion", "discount", "offer", "promo", "deal", "sale code"),
    "code": (
        "coupon code", "discount code", "promo code", "voucher", "code", "unique code", "redemption code",
    ),
    "form": (
        "form", "signup form", "sign-up form", "popup", "pop-up", "pop up", "flyout", "embed",
        "banner", "full-screen", "spin to win", "opt-in form", "lead capture",
    ),
    "tag": ("tag", "label", "labelled", "tagged"),
    "tag_group": ("tag group", "label group", "label category", "tag category", "group of tags"),
    "template": ("template", "email design", "layout", "html email", "design"),
    "block": (
        "universal content", "content block", "block", "snippet", "reusable", "shared block", "header",
        "footer", "reusable section",
    ),
    "image": ("image", "picture", "photo", "asset", "gif", "png", "jpg", "jpeg", "logo", "graphic"),
    "metric": ("metric", "event type", "kpi", "tracked event type"),
    "event": ("event", "activity", "timeline", "track", "tracking", "action taken", "happened"),
    "webhook": ("webhook", "callback", "endpoint url", "notify url", "ping", "http callback", "slack"),
    "topic": ("topic", "webhook topic", "event type to subscribe"),
    "account": ("account", "organization", "company", "whoami", "who am i", "business", "tenant"),
    "message": ("message", "email content", "copy", "subject line", "preview text", "body", "sms text"),
    "report": (
        "report", "stat", "statistic", "performance", "analytic", "rate", "revenue", "conversion",
        "open rate", "click rate", "roi", "result", "numbers", "how well", "drove", "dashboard",
    ),
    "series": (
        "time series", "series", "daily", "weekly", "hourly", "monthly", "day by day",
        "week by week", "over time", "interval", "bucket", "per day", "per week", "trend",
    ),
    "privacy": (
        "gdpr", "ccpa", "privacy", "erasure", "right to be forgotten", "forget", "personal data",
        "data deletion", "delete my data",
    ),
    "merge": ("merge", "dedupe", "deduplicate", "duplicate", "combine", "collapse", "consolidate"),
    "consent": ("consent", "opt in", "opted in", "opt-in", "subscribe", "unsubscribe", "marketing permission"),
    "render": ("render", "preview", "merge tag", "personalization", "resolved", "variables"),
    "estimate": (
        "estimate", "estimation", "audience size", "recipient count", "how big", "how many recipients",
        "would receive", "will receive", "would get", "how many people", "reach",
    ),
    "alert": ("back in stock", "restock alert", "notify when available", "waitlist", "wait list"),
    "public_key": (
        "public key", "site id", "company id", "company_id", "client side", "client-side", "browser",
        "javascript", "js", "mobile app", "android", "ios", "app", "front end", "frontend",
        "storefront", "checkout page", "onsite", "snippet", "sdk",
    ),
}

# facet -> phrases that ask for it, with a strength. Facets are what the intent scorer matches
# against each action's own facets (see _documents.action_facets).
_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "create": tuple(
        (p, 1.0)
        for p in (
            "create", "new", "add", "make", "set up", "setup", "register", "define", "issue",
            "generate", "upload", "build", "record", "write up", "sign up", "signup", "draft",
            "insert", "launch", "start", "hook up", "post", "track", "send", "push", "log",
        )
    ),
    "update": tuple(
        (p, 1.0)
        for p in (
            "update", "change", "edit", "rename", "modify", "tweak", "fix", "set", "mark", "swap",
            "move", "point", "replace", "adjust", "extend", "rotate", "reschedule", "patch",
            "correct", "toggle", "hide", "unhide", "existing", "should be", "exactly", "set to",
        )
    ),
    "delete": tuple(
        (p, 1.0)
        for p in (
            "delete", "remove", "wipe", "drop", "erase", "purge", "discard", "get rid", "obsolete",
            "gone", "discontinue", "retire", "destroy", "kill", "trash", "unlink", "detach",
        )
    ),
    "read": tuple(
        (p, 1.0)
        for p in (
            "get", "show", "fetch", "read", "see", "view", "look up", "lookup", "retrieve", "find",
            "which", "what", "pull up", "open up", "check", "detail", "inspect", "list", "browse",
            "search", "give me", "display", "how", "tell", "who",
        )
    ),
    "list": tuple(
        (p, 1.0)
        for p in (
            "list", "all", "every", "browse", "search", "find", "sorted", "sort", "paginate",
            "filter", "collection", "page cursor", "page size", "newest", "most recent", "have we",
            "any", "exist", "recently created", "most recent", "by created", "created date",
        )
    ),
    "one": tuple(
        (p, 1.0)
        for p in (
            "detail", "by id", "single", "specific", "look up", "lookup", "one", "record",
            "resource by id", "its id",
        )
    ),
    "bulk": tuple(
        (p, 1.0)
        for p in (
            "bulk", "batch", "many", "mass", "at once", "one request", "one shot", "one job",
            "job", "async", "asynchronous", "thousand", "hundred", "import", "spreadsheet", "csv",
            "together", "all at once", "whole", "in batches", "poll",
        )
    ),
    "single": tuple(
        (p, 1.0)
        for p in (
            "single", "one", "synchronous", "synchronously", "right away", "one-off", "exactly one",
            "just one", "only one", "immediately",
        )
    ),
    "report": tuple((p, 1.0) for p in _CONCEPTS["report"]) + (("how many", 0.5), ("total", 1.0), ("net change", 1.0)),
    "series": tuple((p, 1.0) for p in _CONCEPTS["series"]),
    # Phrases that contain a cue word but mean something else; matched first, they ask for nothing.
    "_": tuple(
        (p, 0.0) for p in ("welcome series", "drip series", "email series", "series of emails", "how long", "sign-up form")
    ),
    "values": (
        ("total", 1.0), ("aggregate", 1.0), ("overall", 1.0), ("sum", 0.5), ("summary", 0.5),
        ("one timeframe", 1.0), ("no time series", 2.0), ("no interval", 2.0), ("most", 0.5),
    ),
    "ids": (
        ("ids only", 2.0), ("only ids", 2.0), ("ids", 1.0), ("id list", 1.0), ("identifiers", 1.0),
        ("ids are enough", 2.0), ("just ids", 2.0), ("relationship", 0.5), ("relationships", 0.5),
    ),
    "full": (
        ("full", 1.0), ("full objects", 2.0), ("complete", 0.5), ("objects", 1.0), ("whole", 0.5),
    ),
    "link": (
        ("link", 1.0), ("unlink", 1.0), ("attach", 1.0), ("detach", 1.0), ("associate", 1.0),
        ("alongside", 1.0), ("append", 1.0), ("put on", 1.0), ("put into", 1.0), ("into", 0.5),
        ("apply", 1.0), ("keep other", 1.0), ("keep its other", 1.0), ("keep existing", 1.0),
        ("too", 0.5), ("as well", 0.3), ("relationship", 0.5), ("membership", 0.5),
        ("drop into", 1.0), ("add to", 0.5), ("remove from", 0.5), ("take off", 1.0), ("take out", 1.0),
    ),
    "client": tuple((p, 1.0) for p in _CONCEPTS["public_key"]),
    "server": (
        ("backend", 1.0), ("server", 1.0), ("server side", 1.0), ("server-side", 1.0),
        ("private key", 1.0), ("billing service", 0.5), ("our service", 0.5), ("integration", 0.3),
    ),
}

FACETS: tuple[str, ...] = tuple(f for f in _CUES if not f.startswith("_"))

# Longest phrase, in tokens, that the matchers need to look at.
MAX_PHRASE = 4


def phrase_table(table: Mapping[str, tuple[tuple[str, float], ...]]) -> dict[tuple[str, ...], list[tuple[str, float]]]:
    """Stem every phrase of ``table`` into a token tuple -> [(label, weight)] lookup."""
    out: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for label, phrases in table.items():
        for phrase, weight in phrases:
            key = tuple(stem(w) for w in words(phrase))
            if key:
                out.setdefault(key, []).append((label, weight))
    return out


CONCEPTS: Mapping[tuple[str, ...], list[tuple[str, float]]] = MappingProxyType(
    phrase_table({c: tuple((p, 1.0) for p in ps) for c, ps in _CONCEPTS.items()})
)
CUES: Mapping[tuple[str, ...], list[tuple[str, float]]] = MappingProxyType(phrase_table(_CUES))

# The resource a query is about, by the first resource word in it ("what LISTS has profile X
# joined" is about lists; "every PROFILE on list X" about profiles). Values are the same names
# as ``_documents.action_targets`` gives actions. Longest phrase wins.
_HEADS: dict[str, tuple[str, ...]] = {
    "profile": ("profile", "contact", "subscriber", "customer", "shopper", "person", "people", "member", "recipient", "buyer", "who"),
    "list": ("list", "mailing list", "subscriber list", "static list", "newsletter list", "email list", "sms list"),
    "segment": ("segment", "cohort", "dynamic audience"),
    "campaign": ("campaign", "newsletter", "blast", "broadcast"),
    "message": ("message", "campaign message", "flow message", "email content", "subject line", "preview text"),
    "flow": ("flow", "automation", "journey", "workflow"),
    "flow_step": ("flow action", "step", "flow step", "action"),
    "product": ("product", "item", "catalog item"),
    "variant": ("variant", "sku", "size", "colorway", "catalog variant"),
    "category": ("category", "collection", "catalog category"),
    "coupon": ("coupon", "promotion", "discount", "offer"),
    "code": ("code", "coupon code", "discount code", "promo code", "voucher"),
    "event": ("event", "activity"),
    "metric": ("metric", "custom metric", "metric property"),
    "form": ("form", "popup", "signup form"),
    "image": ("image", "picture", "photo", "asset"),
    "tag": ("tag", "label"),
    "tag_group": ("tag group", "label group"),
    "template": ("template",),
    "block": ("universal content", "content block", "block"),
    "webhook": ("webhook",),
    "topic": ("topic", "webhook topic"),
    "account": ("account", "organization"),
}
HEADS: Mapping[tuple[str, ...], list[tuple[str, float]]] = MappingProxyType(
    phrase_table({h: tuple((p, 1.0) for p in ps) for h, ps in _HEADS.items()})
)
# Resource types of the catalog -> head names (bulk-job and report types are reduced first).
RESOURCE_HEADS: Mapping[str, str] = MappingProxyType(
    {
        "profile": "profile", "list": "list", "segment": "segment", "campaign": "campaign",
        "campaign-message": "message", "flow-message": "message", "flow": "flow",
        "flow-action": "flow_step", "catalog-item": "product", "catalog-variant": "variant",
        "catalog-category": "category", "coupon": "coupon", "coupon-code": "code", "event": "event",
        "metric": "metric", "custom-metric": "metric", "metric-property": "metric",
        "metric-aggregate": "metric", "form": "form", "image": "image", "tag": "tag",
        "tag-group": "tag_group", "template": "template", "template-universal-content": "block",
        "webhook": "webhook", "webhook-topic": "topic", "account": "account",
    }
)
