"""Sources: the named senders of signals, each with its own write key.

A write key is shown once, when its source is created. Tipoff keeps only its SHA-256 and a
short hint (the first and last four characters) that lets an admin tell keys apart. Keys
are 32 random bytes, so a fast unsalted hash is enough, and looking a key up by its hash
means no secret is ever compared in Python.

A source is of one kind: `api` sends the `/v1/*` calls with its write key; the others are
a vendor's webhook destination posting to `/v1/webhooks/<id>`, and their write key is
the destination's secret. A header-authenticated webhook source (the secret as the value
of a header the vendor adds) needs nothing more than the hash. Segment's Webhooks
destination instead signs each body, `X-Signature` = hex HMAC-SHA1(secret, body), and
checking that needs the secret itself, which a hash cannot give back. Storing it as it is
would let anyone who reads the database (or a backup) forge signals; so the secret is
derived, HMAC-SHA256(TIPOFF_SECRET_KEY, random salt), and only the salt is stored. The
server recomputes it from its key; the database alone is not enough.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from tipoff.errors import Conflict, InvalidInput, NotFound, Unauthorized
from tipoff.names import DEFAULT_AUTH_HEADER
from tipoff.names import SOURCE_CATEGORIES as CATEGORIES
from tipoff.names import SOURCE_KINDS as KINDS
from tipoff.store import sources as store
from tipoff.store.db import Connection
from tipoff.store.sources import Source

MAX_NAME_LENGTH = 100
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")
# Headers HTTP clients, proxies or the vendors set themselves: a secret there is lost.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "user-agent",
        "accept",
        "x-signature",
        "x-forwarded-for",
    }
)


@dataclass(frozen=True)
class NewSource:
    source: Source
    write_key: str  # shown to the admin once; Tipoff cannot show it again


def hash_write_key(write_key: str) -> str:
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()


def key_hint(write_key: str) -> str:
    return f"{write_key[:4]}…{write_key[-4:]}"


def derived_secret(server_key: str, salt: str) -> str:
    """An X-Signature source's secret: 32 bytes of HMAC-SHA256 under the server key."""
    digest = hmac.new(
        server_key.encode("utf-8"), b"tipoff webhook source secret:" + salt.encode(), "sha256"
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def body_signature(secret: str, body: bytes) -> str:
    """Segment's X-Signature: hex HMAC-SHA1 of the raw body, keyed with the shared secret."""
    return hmac.new(secret.encode("utf-8"), body, "sha1").hexdigest()


async def create_source(
    conn: Connection,
    *,
    name: str,
    category: str | None = None,
    kind: str = "api",
    auth_header: str | None = None,
    server_key: str | None = None,
    now: datetime,
) -> NewSource:
    """Register a source and mint its write key. Conflict if the name is taken (a revoked
    source keeps its name, so that its history stays attributable).

    `kind` is one of KINDS. A webhook source is authenticated by `auth_header` (its value
    is the secret), by default DEFAULT_AUTH_HEADER for RudderStack and PostHog; a
    segment-webhook without one checks X-Signature, with a secret derived from
    `server_key` (TIPOFF_SECRET_KEY), which it then requires."""
    name = valid_name(name)
    if category is not None and category not in CATEGORIES:
        raise InvalidInput(
            f"unknown category {category!r}: expected one of {', '.join(CATEGORIES)}"
        )
    auth_header, signed = _authentication(kind, auth_header)
    if signed and not server_key:
        raise InvalidInput(
            "a segment-webhook source checks Segment's X-Signature with a secret derived "
            "from TIPOFF_SECRET_KEY: set it (at least 32 characters, the same for "
            "`tipoff serve`), or give --header to authenticate by a header instead"
        )
    existing = await store.source_named(conn, name)
    if existing is not None:
        raise Conflict(_taken(existing))

    salt = secrets.token_hex(16) if signed else None
    if salt is not None and server_key:
        write_key = derived_secret(server_key, salt)
    else:
        write_key = secrets.token_urlsafe(32)
    source = await store.add_source(
        conn,
        name=name,
        category=category,
        write_key_hash=hash_write_key(write_key),
        key_hint=key_hint(write_key),
        created_at=now,
        kind=kind,
        auth_header=auth_header,
        secret_salt=salt,
    )
    if source is None:
        # Another process added the same name between the check and the insert.
        raise Conflict(f"a source named {name!r} already exists")
    return NewSource(source=source, write_key=write_key)


async def import_source(conn: Connection, name: str, *, category: str | None, now: datetime) -> int:
    """The id of the source a file import stores its rows under: the source of that name
    (one created with a write key too), else a new one that only imports files."""
    name = valid_name(name)
    existing = await store.source_named(conn, name)
    if existing is not None:
        if existing.revoked:
            raise InvalidInput(f"source {name!r} is revoked: import under another --source")
        return existing.id
    return await store.add_import_source(
        conn,
        name=name,
        category=category,
        # No write key: a value no key hashes to (a SHA-256 is 64 hex digits).
        write_key_hash="import:" + hash_write_key(name)[:57],
        key_hint="(import)",
        created_at=now,
    )


async def list_sources(conn: Connection) -> list[Source]:
    """Every source, revoked ones included, in the order they were created."""
    return await store.all_sources(conn)


async def revoke_source(conn: Connection, *, name: str, now: datetime) -> Source:
    """Stop accepting the source's key from now on. Revoking twice keeps the first time."""
    found = await store.source_named(conn, name.strip())
    if found is None:
        raise NotFound(f"no source named {name!r} (see `tipoff sources list`)")
    if found.revoked:
        return found
    return await store.set_revoked(conn, found.id, at=now)


async def authenticate(conn: Connection, *, write_key: str) -> Source:
    """The live source that owns `write_key`, or Unauthorized."""
    if not write_key:
        raise Unauthorized("a write key is required")
    source = await store.source_with_key_hash(conn, hash_write_key(write_key))
    if source is None:
        raise Unauthorized("unknown write key")
    if source.revoked:
        raise Unauthorized(f"the write key of source {source.name!r} has been revoked")
    if source.kind != "api":
        raise Unauthorized(
            f"source {source.name!r} is a {source.kind} source: its secret is accepted "
            f"only at {source.webhook_path}"
        )
    return source


async def webhook_source(conn: Connection, *, source_id: str) -> Source:
    """The live webhook source `/v1/webhooks/<source_id>` names, or Unauthorized."""
    # Any text can arrive in a URL; only a plain id of a size a database holds is looked up.
    if not (source_id.isdecimal() and source_id.isascii() and len(source_id) <= 18):
        raise Unauthorized(f"no webhook source {source_id!r} (see `tipoff sources list`)")
    source = await store.source_with_id(conn, int(source_id))
    if source is None:
        raise Unauthorized(f"no webhook source {source_id} (see `tipoff sources list`)")
    if source.revoked:
        raise Unauthorized(f"source {source.name!r} has been revoked")
    if source.kind == "api":
        raise Unauthorized(
            f"source {source.name!r} takes the /v1/* calls with its write key; "
            "create a webhook source with `tipoff sources add NAME --kind ...`"
        )
    return source


def _authentication(kind: str, auth_header: str | None) -> tuple[str | None, bool]:
    """The header a new source of `kind` is authenticated by (None: none), and whether it
    checks X-Signature instead."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    if kind == "api":
        if auth_header is not None:
            raise InvalidInput("an api source is authenticated by its write key, not a header")
        return None, False
    if auth_header is None:
        return (None, True) if kind == "segment-webhook" else (DEFAULT_AUTH_HEADER, False)
    auth_header = auth_header.strip()
    if not _HEADER_NAME.match(auth_header):
        raise InvalidInput(
            f"{auth_header!r} is not a header name: letters, digits and '-', at most 100"
        )
    if auth_header.lower() in _RESERVED_HEADERS:
        raise InvalidInput(
            f"{auth_header} is set by HTTP clients or the vendor itself; choose a header "
            f"of your own, such as {DEFAULT_AUTH_HEADER}"
        )
    return auth_header, False


def valid_name(name: str) -> str:
    """`name` as a source is named (trimmed), or InvalidInput saying what is wrong."""
    name = name.strip()
    if not name:
        raise InvalidInput("a source needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a source name is at most {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise InvalidInput("a source name cannot contain control characters")
    return name


def _taken(existing: Source) -> str:
    if existing.revoked:
        return (
            f"a source named {existing.name!r} already exists (revoked); "
            "choose another name for the new one"
        )
    return (
        f"a source named {existing.name!r} already exists (key {existing.key_hint}); "
        "choose another name"
    )
