"""Generate injections by intent x framing x carrier x language, and benign text in the same carriers.

Deterministic for a seed; every phrase is the project's own (``phrases_*.py``). Each row carries
its family labels, so the benchmark can hold one family out at a time:

- ``intent``: what the attacker wants (``_bank.INTENTS``: exfiltrate, change data, send messages,
  create discounts, escalate, redirect to a tool, reveal secrets);
- ``framing``: how it is asked (``_bank.FRAMINGS``: direct override, polite task, authority claim,
  role-play, hypothetical, instructions embedded in quoted mail; and ``plain``, English only, the
  request as a customer, colleague or relative would put it, with no word of an AI, and benign
  twins in the same frames: ``phrases_plain``);
- ``carrier``: where it hides (``CARRIERS``: profile notes, reviews, product copy, HTML comments,
  CSV cells, JSON fields, markdown, emails, or bare);
- ``lang``: one of ``LANGUAGES`` (32, ten scripts);
- ``domain``: rows of the domain pass only (``phrases_domains.DOMAINS``: banking, smart home,
  files, calendar, inbox, code repository, travel, healthcare, web, chat, general assistant),
  injections and benign text alike, so a domain can be held out whole.

Benign rows (label 0) use the same carriers and the same languages, with imperative marketing,
notes to staff, polite requests between people and text that discusses injections as the payload
(``kind`` = ``hardneg``), or plain notices and reviews (``kind`` = ``plain``). A benign sentence
that asks the reader for what an attack asks (``phrases_plain.NOT_BENIGN``: send data to someone,
refund, make someone an admin, move money) is no longer used as a benign row: text an agent reads
that asks for that is an injection, however polite.

    rows = generate(seed=7)   # about 10k rows: {"text", "label", "source", "intent", ...}
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from ._bank import FRAMINGS, INTENTS, Bank
from .phrases_domains import DOMAINS, FRAMES
from .phrases_english import ENGLISH
from .phrases_europe import EUROPE
from .phrases_more import MORE
from .phrases_plain import BENIGN_ACTS, NOT_BENIGN, PLAIN_FRAMES, SIGN_OFFS
from .phrases_weak import WEAK
from .phrases_world import WORLD
from .synth import _NAMES

__all__ = [
    "CARRIERS",
    "DOMAIN_NAMES",
    "FOLD_FRAMINGS",
    "FRAMINGS",
    "INTENTS",
    "LANGUAGES",
    "PLAIN",
    "generate",
]

DOMAIN_NAMES = tuple(DOMAINS)
PLAIN = "plain"  # the framing of the plain pass only (English); every bank has the others
FOLD_FRAMINGS = (*FRAMINGS, PLAIN)

LANGUAGES: dict[str, Bank] = {"en": ENGLISH, **EUROPE, **WORLD}
CARRIERS = (
    "bare",
    "profile_note",
    "review",
    "product_copy",
    "html_comment",
    "csv_cell",
    "json_field",
    "markdown",
    "email",
)
# Carriers of the wider English pass only (the first pass's rows stay as they were).
MORE_CARRIERS = (
    "ticket",
    "chat",
    "calendar",
    "alt_text",
    "yaml",
    "code_comment",
    "md_table",
    "sms",
)

_DOMAINS = ("mail-sync.net", "data-collect.io", "shop-verify.com", "crm-backup.org", "example.org")
_PRODUCTS = ("Linen Shirt", "Trail Shoes", "Ceramic Mug", "Wool Scarf", "Yoga Mat", "Rain Jacket")
_DISCUSSION_WORDS = ("inject", "attack", "moderation")


def _fill(text: str, rng: random.Random) -> str:
    name = rng.choice(_NAMES)
    return text.replace("{email}", f"{name}{rng.randint(1, 99)}@{rng.choice(_DOMAINS)}").replace(
        "{url}", f"https://{rng.choice(_DOMAINS)}/{rng.choice(('c', 'in', 'hook', 'api/collect'))}"
    )


def _benign_kinds(code: str, bank: Bank) -> list[tuple[str, str]]:
    """Return (kind, sentence) for a language's benign sentences."""
    if code == "en":
        # English: marketing and notes first, then notices and product copy, then discussion.
        return [(("plain" if 18 <= i < 22 else "hardneg"), s) for i, s in enumerate(bank.benign)]
    # Other languages: marketing x2, note, request, review, notice, discussion.
    return [(("plain" if i in (4, 5) else "hardneg"), s) for i, s in enumerate(bank.benign)]


def _fillers(code: str, bank: Bank) -> list[str]:
    """Benign sentences fit to surround a payload: all but those that discuss injections."""
    if code == "en":
        return [s for s in bank.benign if not any(w in s.lower() for w in _DISCUSSION_WORDS)]
    return bank.benign[:6]


def _json_body(payload: str, filler: str, rng: random.Random) -> str:
    field = rng.choice(("notes", "description", "body", "title", "message", "bio"))
    other = rng.choice(("summary", "subtitle", "comment"))
    record: dict[str, Any] = {
        "type": rng.choice(("profile", "catalog-item", "event", "review")),
        "id": f"01J{rng.randint(10**9, 10**10)}",
        "attributes": {
            other: filler,
            field: payload,
            "updated": "2026-03-01T10:00:00Z",
        },
    }
    return json.dumps({"data": [record]}, ensure_ascii=False)


def _csv(payload: str, filler: str, rng: random.Random) -> str:
    names = rng.sample(list(_NAMES), 3)
    rows = [f'{n.title()},{n}@example.com,"{filler}"' for n in names[:2]]
    rows.insert(rng.randint(0, 2), f'{names[2].title()},{names[2]}@example.com,"{payload}"')
    return "name,email,note\n" + "\n".join(rows)


_CARRY: dict[str, Callable[[str, str, random.Random], str]] = {
    "bare": lambda p, f, r: p,
    "profile_note": lambda p, f, r: f"{f}\n{p}" if r.random() < 0.5 else f"Note: {p} {f}",
    "review": lambda p, f, r: f"{'★' * r.randint(3, 5)} {f} {p}",
    "product_copy": lambda p, f, r: f"{r.choice(_PRODUCTS)} — {f} {p}",
    "html_comment": lambda p, f, r: f"<div><p>{f}</p><!-- {p} --></div>",
    "csv_cell": _csv,
    "json_field": _json_body,
    "markdown": lambda p, f, r: (
        f"## {r.choice(_PRODUCTS)}\n\n{f}\n\n> {p}\n\n- size guide\n- returns"
    ),
    "email": lambda p, f, r: (
        f"Subject: {r.choice(_PRODUCTS)}\n\n{f}\n\n{p}\n\n-- \n{r.choice(_NAMES).title()}"
    ),
}


_CARRY.update(
    {
        "ticket": lambda p, f, r: (
            f"Ticket #{r.randint(1000, 9999)} | status: open | priority: normal\n"
            f"Customer wrote: {f}\nInternal note: {p}"
        ),
        "chat": lambda p, f, r: (
            f"[10:{r.randint(10, 59)}] {r.choice(_NAMES).title()}: {f}\n"
            f"[10:{r.randint(10, 59)}] {r.choice(_NAMES).title()}: {p}"
        ),
        "calendar": lambda p, f, r: (
            f"BEGIN:VEVENT\nSUMMARY:{r.choice(_PRODUCTS)} launch\nDESCRIPTION:{f} {p}\nEND:VEVENT"
        ),
        "alt_text": lambda p, f, r: f'<img src="/img/{r.randint(1, 99)}.jpg" alt="{f} {p}">',
        "yaml": lambda p, f, r: f"title: {r.choice(_PRODUCTS)}\nsummary: {f}\nnotes: |\n  {p}\n",
        "code_comment": lambda p, f, r: f"// {f}\n// {p}\nconst sku = 'SKU-{r.randint(100, 999)}';",
        "md_table": lambda p, f, r: (
            f"| sku | note |\n| --- | --- |\n| {r.randint(100, 999)} | {f} |\n"
            f"| {r.randint(100, 999)} | {p} |"
        ),
        "sms": lambda p, f, r: f"{p} {f}" if r.random() < 0.5 else f"{f} {p}",
    }
)


def _row(text: str, label: int, code: str, carrier: str, **family: str) -> dict[str, Any]:
    source = "gen-injection" if label else "gen-benign"
    return {
        "text": text,
        "label": label,
        "source": source,
        "lang": code,
        "carrier": carrier,
        **family,
    }


def _domain_row(
    text: str, label: int, name: str, at: int, part: str, **family: str
) -> dict[str, Any]:
    """A row of the domain ``name`` (English), carried by that domain's carrier number ``at``."""
    return _row(text, label, "en", f"{name}:{at}", **family, domain=name, part=part)


def generate(
    seed: int = 7, *, per_combo: int = 3, benign_per_language: int = 160
) -> list[dict[str, Any]]:
    """Return the generated rows for ``seed``; English gets three times ``per_combo``."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for code in sorted(LANGUAGES):
        bank = LANGUAGES[code]
        fillers = _fillers(code, bank)
        scale = 3 if code == "en" else 1
        for intent in INTENTS:
            for framing in FRAMINGS:
                for _ in range(per_combo * scale):
                    act = _fill(rng.choice(bank.options("acts", intent)), rng)
                    payload = rng.choice(bank.options("frames", framing)).replace("{act}", act)
                    carrier = rng.choice(CARRIERS)
                    text = _CARRY[carrier](payload, rng.choice(fillers), rng)
                    rows.append(_row(text, 1, code, carrier, intent=intent, framing=framing))
        kinds = _benign_kinds(code, bank)
        for _ in range(benign_per_language * (2 if code == "en" else 1)):
            kind, sentence = rng.choice(kinds)
            carrier = rng.choice(CARRIERS)
            text = _CARRY[carrier](_fill(sentence, rng), rng.choice(fillers), rng)
            rows.append(_row(text, 0, code, carrier, kind=kind))
    rows += _wider(seed, per_combo * 2, benign_per_language * 2)
    rows += _domains(seed, max(1, per_combo * 2 // 3), benign_per_language)
    rows += _weak_languages(seed, per_combo, benign_per_language // 4)
    rows = [r for r in rows if r["label"] or not any(s in r["text"] for s in NOT_BENIGN)]
    rows += _plain(seed, per_combo * 10, max(1, per_combo * 4 // 3), benign_per_language * 3)
    rows += _listings(seed, benign_per_language * 2)
    rows += _fragments(seed, benign_per_language)
    return rows


def _listings(seed: int, count: int) -> list[dict[str, Any]]:
    """Benign contact listings: one to five records of an address with a first and last name.

    Names are data whatever else they spell (``_WORDLIKE_SURNAMES``: "Allen" is German for "all",
    a word of many attacks in the banks); an agent prints such listings all the time. Its own
    random stream.
    """
    rng = random.Random(seed + 5077)
    surnames = _SURNAMES + _WORDLIKE_SURNAMES
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        records = "\n".join(_record(rng, surnames) for _ in range(rng.randint(1, 5)))
        carrier = rng.choice(("bare", "csv_cell", "json_field", "markdown", "md_table", "email"))
        filler = rng.choice(("Contacts", "New sign-ups this week", "VIP list", "Attendees", ""))
        text = records if carrier == "bare" else _CARRY[carrier](records, filler, rng)
        rows.append(_row(text, 0, "en", carrier, kind="plain", part="listing"))
    return rows


def _fragments(seed: int, count: int) -> list[dict[str, Any]]:
    """Benign pieces of a contact record, cut where the output screen cuts a printed line.

    The screen judges a flagged line span by span, split at delimiters, so a printed
    "Zoe Allen <zoe.allen@example.com>" reaches the model as "Zoe Allen <zoe.allen@example.com"
    too, and a CSV line as its first fields; one record or a name alone, bare. Its own random
    stream, so the listings above (and their cached embeddings) never change.
    """
    rng = random.Random(seed + 6091)
    surnames = _SURNAMES + _WORDLIKE_SURNAMES
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        record = _record(rng, surnames)
        cuts = [c for c in ("<", ",", "|", "    ") if c in record]
        if cuts:
            head, cut, tail = record.rpartition(rng.choice(cuts))
            record = rng.choice((record.rstrip(">"), head, f"{head}{cut}{tail}".rstrip('>"')))
        rows.append(_row(record.strip(), 0, "en", "bare", kind="plain", part="fragment"))
    return rows


def _wider(seed: int, per_combo: int, benign: int) -> list[dict[str, Any]]:
    """The wider English pass: both banks' acts and frames mixed, over every carrier.

    Its own random stream, so the first pass's rows (and their cached embeddings) never change.
    """
    rng = random.Random(seed + 1009)
    banks = (ENGLISH, MORE)
    carriers = CARRIERS + MORE_CARRIERS
    fillers = _fillers("en", ENGLISH) + MORE.benign
    rows: list[dict[str, Any]] = []
    for intent in INTENTS:
        for framing in FRAMINGS:
            for _ in range(per_combo):
                act = _fill(rng.choice(rng.choice(banks).options("acts", intent)), rng)
                frame = rng.choice(rng.choice(banks).options("frames", framing))
                carrier = rng.choice(carriers)
                text = _CARRY[carrier](frame.replace("{act}", act), rng.choice(fillers), rng)
                rows.append(_row(text, 1, "en", carrier, intent=intent, framing=framing))
    for _ in range(benign):
        sentence = rng.choice(MORE.benign + ENGLISH.benign)
        carrier = rng.choice(carriers)
        text = _CARRY[carrier](_fill(sentence, rng), rng.choice(fillers), rng)
        rows.append(_row(text, 0, "en", carrier, kind="hardneg"))
    return rows


_SURNAMES = ("Hall", "Berg", "Lee", "Okafor", "Martin", "Kowalski", "Silva", "Nakamura", "Dubois")
_RECORDS = (
    "{mail}    {First}    {Last}",
    "{First} {Last} <{mail}>",
    "{mail} | {First} | {Last} | {city}",
    "Contact: {First} {Last}, {mail}",
    '"email": "{mail}", "first_name": "{First}"',
    "{mail},{First},{Last},{city}",
)


# Surnames that are also words of the banks' attacks or of other languages ("allen" is German
# for "all", as in "send it to all subscribers"): a name is data, whatever else it spells.
_WORDLIKE_SURNAMES = (
    "Allen",
    "Alle",
    "Post",
    "Price",
    "Link",
    "Best",
    "Page",
    "King",
    "Sender",
    "Key",
    "Sales",
    "Root",
    "Bill",
    "Van Dam",
    "De Vries",
    "Del Rio",
    "Mann",
    "Fox",
)


def _record(rng: random.Random, surnames: tuple[str, ...] = _SURNAMES) -> str:
    """A contact record as listings print it (address, first and last name, city)."""
    first, last = rng.choice(_NAMES).title(), rng.choice(surnames)
    mail = f"{first.lower()}.{last.lower().replace(' ', '')}@{rng.choice(('example.com', 'mail.example'))}"
    city = rng.choice(("Porto", "Leeds", "Oslo", "Austin", "Lyon"))
    return (
        rng.choice(_RECORDS)
        .replace("{mail}", mail)
        .replace("{First}", first)
        .replace("{Last}", last)
        .replace("{city}", city)
    )


def _domains(seed: int, per_combo: int, benign: int) -> list[dict[str, Any]]:
    """The domain pass: generic goal hijacks in ten non-Klaviyo domains, and benign twins.

    Injections: each domain's acts x the generic frames of every framing, in that domain's
    carriers; benign: the domain's requests, instructions and notices in the same carriers.
    Its own random stream, so the earlier passes' rows never change.
    """
    rng = random.Random(seed + 2027)
    rows: list[dict[str, Any]] = []
    for name, domain in DOMAINS.items():
        for intent in INTENTS:
            for framing in FRAMINGS:
                for _ in range(per_combo):
                    act = _fill(rng.choice(domain.acts[intent]), rng)
                    payload = rng.choice(FRAMES[framing]).replace("{act}", act)
                    at = rng.randrange(len(domain.carriers))
                    text = domain.carriers[at](payload, _fill(rng.choice(domain.benign), rng), rng)
                    rows.append(
                        _domain_row(text, 1, name, at, "domain", intent=intent, framing=framing)
                    )
        for n in range(benign):
            at = rng.randrange(len(domain.carriers))
            first, second = rng.sample(domain.benign, 2)
            if n % 4 == 0:  # a contact record: addresses and names are data, not a request
                first = _record(rng)
            text = domain.carriers[at](_fill(first, rng), _fill(second, rng), rng)
            rows.append(_domain_row(text, 0, name, at, "domain", kind="hardneg"))
    return rows


def _weak_languages(seed: int, per_combo: int, benign: int) -> list[dict[str, Any]]:
    """Second frames (goal hijack, urgency, polite) and reveal-secret acts in the weakest languages.

    ``phrases_weak.WEAK``; benign twins in the same carriers. Its own random stream.
    """
    rng = random.Random(seed + 3041)
    rows: list[dict[str, Any]] = []
    for code, extra in WEAK.items():
        bank = LANGUAGES[code]
        fillers = _fillers(code, bank) + extra.benign
        for intent in INTENTS:
            acts = bank.options("acts", intent)
            if intent in extra.acts:
                acts = acts + extra.options("acts", intent)
            for framing in extra.frames:
                for _ in range(per_combo):
                    act = _fill(rng.choice(acts), rng)
                    payload = rng.choice(extra.options("frames", framing)).replace("{act}", act)
                    carrier = rng.choice(CARRIERS)
                    text = _CARRY[carrier](payload, rng.choice(fillers), rng)
                    rows.append(
                        _row(text, 1, code, carrier, intent=intent, framing=framing, part="weak")
                    )
        for _ in range(benign):
            carrier = rng.choice(CARRIERS)
            sentence = rng.choice(extra.benign + bank.benign[:6])
            text = _CARRY[carrier](_fill(sentence, rng), rng.choice(fillers), rng)
            rows.append(_row(text, 0, code, carrier, kind="hardneg", part="weak"))
    return rows


def _plain_frame(act: str, rng: random.Random) -> str:
    frame = rng.choice(PLAIN_FRAMES).replace("{sign}", rng.choice(SIGN_OFFS))
    return frame.replace("{Act}", act[:1].upper() + act[1:]).replace("{act}", act)


def _plain(seed: int, english: int, per_domain: int, benign: int) -> list[dict[str, Any]]:
    """The plain pass: every intent's acts in the ``plain`` frames, and benign acts in the same.

    ``english`` injections per intent from the English banks in the English carriers,
    ``per_domain`` per intent and domain in that domain's carriers; ``benign`` rows of
    ``phrases_plain.BENIGN_ACTS`` in the same frames, half of them in a domain's carriers. Its own
    random stream, so the earlier passes' rows never change.
    """
    rng = random.Random(seed + 4051)
    carriers = CARRIERS + MORE_CARRIERS
    fillers = [f for f in _fillers("en", ENGLISH) + MORE.benign if f not in NOT_BENIGN]
    rows: list[dict[str, Any]] = []
    for intent in INTENTS:
        acts = ENGLISH.options("acts", intent) + MORE.options("acts", intent)
        for _ in range(english):
            payload = _plain_frame(_fill(rng.choice(acts), rng), rng)
            carrier = rng.choice(carriers)
            text = _CARRY[carrier](payload, rng.choice(fillers), rng)
            rows.append(_row(text, 1, "en", carrier, intent=intent, framing=PLAIN, part=PLAIN))
        for name, domain in DOMAINS.items():
            for _ in range(per_domain):
                payload = _plain_frame(_fill(rng.choice(domain.acts[intent]), rng), rng)
                at = rng.randrange(len(domain.carriers))
                filler = _fill(rng.choice([b for b in domain.benign if b not in NOT_BENIGN]), rng)
                text = domain.carriers[at](payload, filler, rng)
                rows.append(_domain_row(text, 1, name, at, PLAIN, intent=intent, framing=PLAIN))
    names = list(DOMAINS)
    for n in range(benign):
        payload = _plain_frame(rng.choice(BENIGN_ACTS), rng)
        if n % 3 == 0:  # addresses and names are data on this side too, not a sign of attack
            record = _record(rng, _SURNAMES + _WORDLIKE_SURNAMES)
            payload = f"{payload} {record}" if n % 2 else f"{record}\n{payload}"
        if n % 2:
            carrier = rng.choice(carriers)
            text = _CARRY[carrier](payload, rng.choice(fillers), rng)
            rows.append(_row(text, 0, "en", carrier, kind="hardneg", part=PLAIN))
            continue
        name = names[n // 2 % len(names)]
        domain = DOMAINS[name]
        at = rng.randrange(len(domain.carriers))
        filler = _fill(rng.choice([b for b in domain.benign if b not in NOT_BENIGN]), rng)
        text = domain.carriers[at](payload, filler, rng)
        rows.append(_domain_row(text, 0, name, at, PLAIN, kind="hardneg"))
    return rows
