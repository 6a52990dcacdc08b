"""The benign-output corpus of issue #22: what real agent scripts print, in many styles.

Each style is a short piece of sandbox Python that prints one output from ``rows`` (records of a
demo-account collection, reduced to a few readable fields), ``title`` and ``keys``: tables
(markdown, boxed, fixed width), CSV and TSV, JSON dumps, Python reprs, key/value blocks, YAML,
logfmt, HTML and XML fragments, SQL, counts, dates, ids, quoted marketing copy, grouped summaries,
empty results, error summaries and advice to the user. None of them is phrased like the scanner's
training text. :func:`scripts` builds one script per collection: it reads the collection through
the SDK, then prints every style over three windows of rows, each output between two
``OUTPUT_SEPARATOR`` lines.
"""

from __future__ import annotations

# The collections, the call that lists them, and the fields worth printing.
COLLECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "profiles": (
        "klaviyo.profiles.get_profiles(page_size=20)",
        ("email", "first_name", "last_name", "phone_number", "created", "id"),
    ),
    "lists": ("klaviyo.lists.get_lists()", ("name", "id", "created", "opt_in_process")),
    "segments": ("klaviyo.segments.get_segments()", ("name", "id", "is_active", "created")),
    "campaigns": (
        "klaviyo.campaigns.get_campaigns(filter=\"equals(messages.channel,'email')\")",
        ("name", "status", "send_time", "id"),
    ),
    "flows": ("klaviyo.flows.get_flows()", ("name", "status", "trigger_type", "id")),
    "metrics": ("klaviyo.metrics.get_metrics()", ("name", "id", "created")),
    "catalog items": (
        "klaviyo.catalogs.get_catalog_items()",
        ("title", "price", "description", "url", "id"),
    ),
    "templates": ("klaviyo.templates.get_templates()", ("name", "editor_type", "text", "id")),
    "coupons": ("klaviyo.coupons.get_coupons()", ("external_id", "description", "id")),
    "tags": ("klaviyo.tags.get_tags()", ("name", "id")),
    "images": ("klaviyo.images.get_images()", ("name", "format", "size", "id")),
    "catalog categories": ("klaviyo.catalogs.get_catalog_categories()", ("name", "id")),
    "forms": ("klaviyo.forms.get_forms()", ("name", "status", "id")),
    "events": ("klaviyo.events.get_events(page_size=30)", ("datetime", "uuid", "id")),
}

OUTPUT_SEPARATOR = "=" * 12

# Each entry prints one output. Names available: rows, title, keys, json, textwrap, Counter, n.
STYLES: tuple[str, ...] = (
    # Tables.
    """print("| " + " | ".join(keys) + " |")
print("|" + "---|" * len(keys))
for r in rows:
    print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")""",
    """widths = [max([len(k)] + [len(str(r.get(k, ""))[:28]) for r in rows]) for k in keys]
line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
print(line)
print("| " + " | ".join(k.ljust(w) for k, w in zip(keys, widths)) + " |")
print(line)
for r in rows:
    print("| " + " | ".join(str(r.get(k, ""))[:28].ljust(w) for k, w in zip(keys, widths)) + " |")
print(line)""",
    """for r in rows:
    print("  ".join(str(r.get(k, ""))[:24].ljust(24) for k in keys[:3]))""",
    # CSV, TSV, logfmt.
    """print(",".join(keys))
for r in rows:
    print(",".join('"' + str(r.get(k, "")).replace('"', '""') + '"' for k in keys))""",
    """print("\\t".join(keys))
for r in rows:
    print("\\t".join(str(r.get(k, "")) for k in keys))""",
    """for r in rows:
    print(" ".join(f"{k}={json.dumps(r.get(k))}" for k in keys))""",
    # JSON and Python values.
    """print(json.dumps(rows, indent=2, default=str))""",
    """print(json.dumps({"collection": title, "count": len(rows), "items": rows}, default=str))""",
    """print(rows)""",
    """print({r.get(keys[0]): r.get("id") for r in rows})""",
    """print([r.get(keys[0]) for r in rows])""",
    # Key/value, YAML, lists.
    """for r in rows:
    for k in keys:
        print(f"{k}: {r.get(k)}")
    print()""",
    """print(f"{title.replace(' ', '_')}:")
for r in rows:
    print(f"  - id: {r.get('id')}")
    for k in keys[:-1]:
        print(f"    {k}: {r.get(k)!r}")""",
    """for r in rows:
    print(f"- {r.get(keys[0])} ({r.get('id')})")""",
    """for i, r in enumerate(rows, 1):
    print(f"{i}. {r.get(keys[0])}")""",
    """print(" · ".join(str(r.get(keys[0])) for r in rows))""",
    # Counts, ids, dates, summaries.
    """print(f"Found {len(rows)} {title}.")""",
    """print(f"{title}: {len(rows)} shown of {n} in the account")""",
    """print("ids:", ", ".join(str(r.get("id")) for r in rows))""",
    """values = sorted(str(r.get(k)) for r in rows for k in keys if "date" in k or k in ("created", "send_time", "datetime"))
print(f"earliest: {values[0] if values else 'n/a'}; latest: {values[-1] if values else 'n/a'}")""",
    """counts = Counter(str(r.get(keys[1])) for r in rows)
for value, count in counts.most_common():
    print(f"{value:>20}  {count}")""",
    """longest = max(rows, key=lambda r: len(str(r.get(keys[0]))), default={})
print(f"The {title} entry with the longest {keys[0]} is {longest.get(keys[0])!r}.")""",
    """print(f"{len(rows)} of {n} {title} ({100 * len(rows) / max(n, 1):.1f}%) are in this view")""",
    # Quoted copy.
    """for r in rows:
    print(f'"{textwrap.shorten(str(r.get(keys[0])), 60)}" - {r.get(keys[1])}')""",
    """print(textwrap.fill("; ".join(str(r.get(keys[0])) for r in rows), 70))""",
    """for r in rows:
    text = str(r.get(keys[2] if len(keys) > 3 else keys[0]))
    print(f"> {textwrap.shorten(text, 120)}")""",
    # Markup and code.
    """print("<ul>")
for r in rows:
    print(f"  <li data-id=\\"{r.get('id')}\\">{r.get(keys[0])}</li>")
print("</ul>")""",
    """for r in rows:
    print(f"<item id='{r.get('id')}'><{keys[0]}>{r.get(keys[0])}</{keys[0]}></item>")""",
    """for r in rows:
    values = ", ".join(repr(str(r.get(k))) for k in keys[:3])
    print(f"INSERT INTO {title.replace(' ', '_')} ({', '.join(keys[:3])}) VALUES ({values});")""",
    """for r in rows:
    print(f"+ {r.get(keys[0])}")
print(f"- (none removed from {title})")""",
    # Empty results, errors and advice: the script's own words.
    """print(f"{title}:", [])
print(f"No {title} matched the filter; try a wider date range.")""",
    """print(f"2 calls failed while reading {title}: NotFoundError (get_profile, 404), RateLimitError (retry in 3 s).")
print("The other results above are complete.")""",
    """print(f"Instructions for the user: open Klaviyo, go to {title.title()}, pick the first entry above and check it by hand.")
print("Next step: ask the user which of these to update before running any write.")""",
    """print(f"Summary for the marketing team: {len(rows)} {title} reviewed, nothing needs action today.")
print("Tip: schedule this report weekly from the Klaviyo dashboard.")""",
)


def _prelude(title: str, call: str, keys: tuple[str, ...]) -> str:
    return f"""
from collections import Counter
import json, textwrap

title = {title!r}
keys = {list(keys)!r}
records = {call}.records
# The demo's seeded injections (and what the response scan made of them) are left out.
marks = ("assistant", "system:", "agent instruction", "[codemode")
records = [r for r in records if not any(m in str(r).lower() for m in marks)]
n = len(records)

def pick(r):
    out = {{}}
    for k in keys:
        v = r.get(k)
        out[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
    return out

everything = [pick(r) for r in records]
windows = [everything[:3], everything[3:6], sorted(everything, key=lambda r: str(r.get(keys[0])))[-3:]]
"""


def scripts() -> list[tuple[str, str]]:
    """``(collection, script)`` for every collection: all styles over three windows of rows."""
    found: list[tuple[str, str]] = []
    for title, (call, keys) in COLLECTIONS.items():
        body = [_prelude(title, call, keys)]
        for window in range(3):
            for style in STYLES:
                body.append(f"rows = windows[{window}]\nprint({OUTPUT_SEPARATOR!r})\n{style}\n")
        body.append(f"print({OUTPUT_SEPARATOR!r})\n")
        found.append((title, "\n".join(body)))
    return found


def outputs(printed: str) -> list[str]:
    """The outputs of one run, split at the separator lines."""
    blocks = printed.split(OUTPUT_SEPARATOR + "\n")
    return [b for b in blocks[1:] if b.strip()]
