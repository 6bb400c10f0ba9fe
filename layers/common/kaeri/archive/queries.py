"""The archive's SQL: one file per query under sql/, parsed once, bound and rendered per engine.

A query names the views it reads (`events`, `messages`, `orders`, `cancellations`: files under
sql/views/); they are prepended as CTEs, so the dedup rule (one row per message id, a message's latest
version) is written once. Parameters are `:name` placeholders, bound as SQL literals through sqlglot's
syntax tree (never string formatting). The source is written for DuckDB and transpiled to Trino for
Athena; tests check both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

SOURCE_DIALECT = "duckdb"
ATHENA_DIALECT = "trino"
BASE_TABLES = {"archive_events": "events", "archive_messages": "messages"}
# Views that scan the archive with only a period filter: an engine may inline them where they are read.
SCAN_VIEWS = ("period_events", "events")
VIEW_ORDER = ("period_events", "events", "messages", "cancellations", "orders")  # dependencies first


def _read(name: str) -> str:
    return resources.files("kaeri.archive").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def query_names() -> list[str]:
    folder = resources.files("kaeri.archive").joinpath("sql")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql"))


@cache
def _parsed(name: str) -> exp.Expr:
    return sqlglot.parse_one(_read(name), read=SOURCE_DIALECT)


def _tables(tree: exp.Expr) -> set[str]:
    return {t.name for t in tree.find_all(exp.Table)}


def _needed_views(tree: exp.Expr) -> list[str]:
    needed: set[str] = set()
    frontier = _tables(tree) & set(VIEW_ORDER)
    while frontier:
        view = frontier.pop()
        if view in needed:
            continue
        needed.add(view)
        frontier |= _tables(_parsed(f"views/{view}")) & set(VIEW_ORDER)
    return [v for v in VIEW_ORDER if v in needed]


@cache
def assembled(name: str) -> exp.Expr:
    """The query with the views it reads as leading CTEs (unbound)."""
    tree = _parsed(name).copy()
    views = _needed_views(tree)
    if not views:
        return tree
    key = "with_" if "with_" in type(tree).arg_types else "with"
    existing = tree.args.get(key)
    ctes = [
        exp.CTE(this=_parsed(f"views/{v}").copy(), alias=exp.TableAlias(this=exp.to_identifier(v)))
        for v in views
    ]
    if existing is not None:
        ctes += list(existing.expressions)
    tree.set(key, exp.With(expressions=ctes))
    return tree


def _literal(value: Any) -> exp.Expr:
    if isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return exp.cast(exp.Literal.string(naive.isoformat(sep=" ", timespec="milliseconds")), "TIMESTAMP")
    if isinstance(value, date):
        return exp.Literal.string(value.isoformat())
    if isinstance(value, bool) or value is None:
        raise TypeError(f"unsupported parameter value {value!r}")
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def period_params(shop_id: str, since: datetime, until: datetime) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "since": since,
        "until": until,
        "since_day": since.astimezone(UTC).date(),
        "until_day": until.astimezone(UTC).date(),
    }


def bind(name: str, params: dict[str, Any], tables: dict[str, str] | None = None) -> exp.Expr:
    """The query with placeholders replaced by literals and base tables renamed (e.g. to Glue tables)."""
    tree = assembled(name).copy()
    wanted = {p.name for p in tree.find_all(exp.Placeholder)}
    missing = wanted - set(params)
    if missing:
        raise ValueError(f"query {name!r} needs parameters {sorted(missing)}")
    tree = tree.transform(
        lambda node: _literal(params[node.name]) if isinstance(node, exp.Placeholder) else node
    )
    if tables:
        for table in tree.find_all(exp.Table):
            if table.name in tables:
                table.replace(exp.to_table(tables[table.name]).as_(table.alias_or_name))
    return tree


def render(name: str, params: dict[str, Any], dialect: str, tables: dict[str, str] | None = None) -> str:
    return bind(name, params, tables).sql(dialect=dialect, pretty=True)


# Result columns whose JSON form (Athena's UNLOAD output) is not already the Python type DuckDB returns:
# timestamps are strings, a double may be written without a fraction, order lines hold doubles. Every
# query's TIMESTAMP and DOUBLE result columns are named here (a test checks it against DuckDB's types).
RESULT_TYPES: dict[str, str] = {
    "at": "timestamp",
    "last_at": "timestamp",
    "created_at": "timestamp",
    "sent_at": "timestamp",
    "revenue": "double",
    "score": "double",
    "products": "lines",
}
UNLOAD_OPTIONS = {"format": "JSON", "compression": "GZIP"}


def unload(select: str, location: str) -> str:
    """An Athena UNLOAD of a rendered query to `location` (an empty `s3://` prefix), checked by parsing it."""
    if not location.startswith("s3://") or not location.endswith("/") or "'" in location:
        raise ValueError(f"UNLOAD location must be an s3:// prefix ending in '/': {location!r}")
    options = ", ".join(f"{k} = '{v}'" for k, v in UNLOAD_OPTIONS.items())
    text = f"UNLOAD (\n{select}\n)\nTO '{location}'\nWITH ({options})"
    parse_unload(text)
    return text


def parse_unload(text: str) -> tuple[exp.Expr, str, dict[str, str]]:
    """An UNLOAD statement's query (parsed as Athena SQL), its TO location and its WITH options.

    sqlglot reads UNLOAD only as an opaque command, so the statement is split on Athena's tokens
    (UNLOAD, the parenthesized query, TO '<location>', WITH (key = 'value', ...)) and the query parsed.
    """
    tokens = sqlglot.tokenize(text, read=ATHENA_DIALECT)  # the Athena tokenizer swallows a command
    if len(tokens) < 2 or tokens[0].text.upper() != "UNLOAD" or tokens[1].token_type != TokenType.L_PAREN:
        raise ValueError("not an UNLOAD (<query>) statement")
    depth, end = 0, -1
    for i, token in enumerate(tokens[1:], start=1):
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth == 0:
            end = i
            break
    tail = tokens[end + 1 :] if end > 0 else []
    if (
        len(tail) < 5
        or tail[0].text.upper() != "TO"
        or tail[1].token_type != TokenType.STRING
        or tail[2].text.upper() != "WITH"
    ):
        raise ValueError("UNLOAD needs (<query>) TO '<s3 location>' WITH (<options>)")
    query = sqlglot.parse_one(text[tokens[1].end + 1 : tokens[end].start], read="athena")
    words = [t.text for t in tail[4:-1] if t.token_type not in (TokenType.COMMA, TokenType.EQ)]
    options = {k.lower(): v for k, v in zip(words[::2], words[1::2], strict=True)}
    return query, tail[1].text, options
