"""A loopback stand-in for Slack's Web API that records every call.

It is a real HTTP server (stdlib, in a thread), so any client in any thread or event loop
can reach it: point `SLACK_API_URL` at `FakeSlackApi.url`. It answers `auth.test`,
`chat.postMessage` (in a thread too, with `thread_ts`), `chat.update`, `chat.postEphemeral`,
`views.open`, `views.publish`, `users.lookupByEmail`, `users.info` (from `people`,
`users` and `deactivated`: guests, other workspaces and organisations as Slack describes
them), `conversations.open` (a DM "D…" for a user "U…"), `conversations.info` and
`conversations.list` (the workspace's channels, shared with another organisation or not)
and `apps.connections.open` (with `socket_url`, for Socket Mode) as Slack does, checks the
bearer token like Slack (`invalid_auth` otherwise), and can be told to fail the next calls:

    fake.fail_next("chat.postMessage", status=429, retry_after=30, times=2)
    fake.fail_next("chat.postMessage", status=500)
    fake.fail_next("chat.postMessage", error="channel_not_found")

Channels registered with `add_channel` behave as Slack's do for a bot token: posting
into one the bot is not a member of answers `not_in_channel` (public; a bot without the
chat:write.public scope) or `channel_not_found` (private: invisible to non-members), an
archived one `is_archived`, and `conversations.join` makes the bot a member of a public
channel. The workspace starts with WORKSPACE_CHANNELS, the bot in each. Channels never
registered accept every post, as before, but conversations.info does not know them
(`channel_not_found`), as Slack would not. `revoke()` makes every
call answer as Slack does once the app is uninstalled (`token_revoked`); `reinstall()`
undoes it, with a new token when given.

It also stands in for the `response_url` Slack puts in every slash command and click
(`fake.response_url`; what is posted there is recorded as calls to "response_url"), and
can hold a method's answers until the test lets them go (`release = fake.hold("users.info")`;
`release.set()`), so a test can see what the bot does while Slack has not answered yet.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.loopback import LoopbackApi, Reply, Request

BOT_TOKEN = "xoxb-1111-2222-fake-bot-token"
APP_TOKEN = "xapp-1-A0TIPOFFAPP-3333-fake-app-token"
TEAM_ID = "T0TIPOFF1"
BOT_USER_ID = "U0TIPOFFBOT"
BOT_ID = "B0TIPOFFBOT"

# The workspace's channels (name → ID), the bot a member of each: Slack resolves a name
# given to chat.postMessage to its ID; an ID passed as a channel is used as is.
WORKSPACE_CHANNELS = {
    "sales-alerts": "C0SALESALRT",
    "sales-hot": "C0SALESHOT1",
    "enterprise": "C0ENTERPRS1",
    "sales-leads": "C0SALESLEAD",
}
CHANNELS = {
    **WORKSPACE_CHANNELS,
    **{f"#{name}": channel for name, channel in WORKSPACE_CHANNELS.items()},
}
PARTNER_TEAM_ID = "T0PARTNER9"  # another organisation, met in a Slack Connect channel


@dataclass(frozen=True)
class SlackCall:
    method: str
    params: dict[str, Any]  # form or JSON body, JSON-encoded form fields decoded
    headers: dict[str, str]  # lower-cased names
    # When the call arrived (time.monotonic(), the clock the bot's pacing reads), for
    # tests of the pace between posts.
    at: float = field(default_factory=time.monotonic, compare=False)


@dataclass
class FakeChannel:
    id: str
    name: str
    private: bool = False
    archived: bool = False
    member: bool = False  # whether the bot is in it
    # Slack Connect: shared with another organisation, or invited to be (pending).
    ext_shared: bool = False
    pending_ext_shared: bool = False
    org_shared: bool = False  # Enterprise Grid: shared with other workspaces of the org


@dataclass
class FakePerson:
    """A person users.info describes: of `team_id`, on Grid of `enterprise_id`; a guest
    when `guest` is "multi" (is_restricted) or "single" (is_ultra_restricted)."""

    id: str
    team_id: str = TEAM_ID
    enterprise_id: str | None = None
    guest: str | None = None
    email: str | None = None


@dataclass
class FakeFile:
    """A file as Slack's upload flow leaves it: asked for (getUploadURLExternal), its
    bytes sent to the upload URL, then completed (shared into `channel`, or private)."""

    id: str
    filename: str
    length: int
    alt_txt: str | None
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class _Failure:
    method: str | None
    status: int
    body: Any  # dict (sent as JSON) or str (sent as text/html)
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0  # seconds before answering: longer than the client waits is a timeout


class FakeSlackApi(LoopbackApi):
    def __init__(self, *, token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        self.token = token
        self.app_token = app_token
        # What apps.connections.open answers: a Socket Mode test's WebSocket server.
        self.socket_url: str | None = None
        # The workspace's people, for users.lookupByEmail (email → user ID), and users
        # conversations.open cannot open a DM with.
        self.users: dict[str, str] = {}
        self.unreachable: set[str] = set()
        # Channels with membership, archiving and sharing (`add_channel`), by ID.
        self.channels: dict[str, FakeChannel] = {
            channel: FakeChannel(channel, name, member=True)
            for name, channel in WORKSPACE_CHANNELS.items()
        }
        # People users.info describes otherwise than as full members of TEAM_ID.
        self.people: dict[str, FakePerson] = {}
        # Set for a workspace of an Enterprise Grid organisation: auth.test names it.
        self.enterprise_id: str | None = None
        # Set by `revoke()`: the error every call with the bot token answers.
        self.revoked: str | None = None
        # Users an admin deactivated: users.info and users.lookupByEmail say "deleted".
        self.deactivated: set[str] = set()
        # Files uploaded through files.getUploadURLExternal → POST to its upload_url →
        # files.completeUploadExternal, by file ID (`FakeFile`).
        self.files: dict[str, FakeFile] = {}
        self._file_ids = itertools.count(1)
        self._calls: list[SlackCall] = []
        self._failures: list[_Failure] = []
        self._held: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ts = itertools.count(1)
        super().__init__()

    @property
    def url(self) -> str:
        return f"{self._server.url}/api/"

    def stop(self) -> None:
        with self._lock:
            for released in self._held.values():
                released.set()
        super().stop()

    @property
    def response_url(self) -> str:
        """A loopback stand-in for the response_url of a slash command or click."""
        return f"{self._server.url}/commands/{TEAM_ID}/8136281937492/loopbackResponseUrl"

    def hold(self, method: str) -> threading.Event:
        """Calls to `method` (or to "response_url") are recorded on arrival but answered
        only once the returned event is set (at most 10 s later)."""
        released = threading.Event()
        with self._lock:
            self._held[method] = released
        return released

    # --- what tests read ---------------------------------------------------------------

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self, method: str, count: int = 1, *, within: float = 5.0
    ) -> list[SlackCall]:
        """The calls to `method` once there are at least `count` of them (Bolt runs
        listeners after the ack, so some calls arrive after the HTTP answer)."""

        def arrived() -> bool:
            with self._changed:
                return self._changed.wait_for(
                    lambda: sum(c.method == method for c in self._calls) >= count, within
                )

        if not await asyncio.to_thread(arrived):
            raise AssertionError(
                f"expected {count} call(s) to {method} within {within}s; got "
                f"{[c.method for c in self.calls]}"
            )
        return self.calls_to(method)

    # --- programming failures ----------------------------------------------------------

    def fail_next(
        self,
        method: str | None = None,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """The next `times` calls (to `method`, or to any method but auth.test) fail:
        429 with Retry-After, a 5xx with an HTML page as Slack's edge sends, or a 200
        with `{"ok": false, "error": error}`; after `delay` seconds (a timeout, for a
        client that waits less)."""
        headers: dict[str, str] = {}
        body: Any
        if status == 429:
            body = {"ok": False, "error": "ratelimited"}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
        elif status >= 500:
            body = f"<html><body><h1>{status} Server Error</h1></body></html>"
        else:
            body = {"ok": False, "error": error or "internal_error"}
        with self._lock:
            self._failures.append(_Failure(method, status, body, headers, times, delay))

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        private: bool = False,
        archived: bool = False,
        member: bool = False,
        ext_shared: bool = False,
        pending_ext_shared: bool = False,
        org_shared: bool = False,
    ) -> FakeChannel:
        """A channel with Slack's membership rules (see the module docstring)."""
        channel = FakeChannel(
            channel_id,
            name,
            private,
            archived,
            member,
            ext_shared,
            pending_ext_shared,
            org_shared,
        )
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def add_person(
        self,
        user_id: str,
        *,
        team_id: str = TEAM_ID,
        enterprise_id: str | None = None,
        guest: str | None = None,
        email: str | None = None,
    ) -> FakePerson:
        """A person users.info describes as Slack would (see FakePerson)."""
        person = FakePerson(user_id, team_id, enterprise_id, guest, email)
        with self._lock:
            self.people[user_id] = person
        return person

    def revoke(self, error: str = "token_revoked") -> None:
        """The app is uninstalled (or its token revoked): every call answers `error`."""
        with self._lock:
            self.revoked = error

    def reinstall(self, token: str | None = None) -> None:
        """The app is installed again; with `token`, under a new bot token."""
        with self._lock:
            self.revoked = None
            if token is not None:
                self.token = token

    def clear_failures(self) -> None:
        """Slack is healthy again: forget every programmed failure."""
        with self._lock:
            self._failures.clear()

    # --- the server --------------------------------------------------------------------

    def _reply(self, request: Request) -> Reply:
        if request.path.startswith("/upload/v1/"):
            status, text = self._receive_upload(request.path.rsplit("/", 1)[-1], request.raw)
            return Reply(status, text, "text/plain; charset=utf-8")
        method = request.path.rsplit("/", 1)[-1]
        if request.path.startswith(("/commands/", "/actions/")):
            method = "response_url"
        params = _parse(request.raw.decode("utf-8"), request.headers.get("content-type", ""))
        params.update(request.query)
        answer = self._answer(method, params, request.headers)
        if isinstance(answer.body, str):
            return Reply(answer.status, answer.body, "text/html; charset=utf-8", answer.headers,
                         answer.delay)  # fmt: skip
        return Reply(answer.status, answer.body, "application/json", answer.headers, answer.delay)

    def _answer(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> _Failure:
        with self._lock:
            self._calls.append(SlackCall(method, params, headers))
            self._changed.notify_all()
            held = self._held.get(method)
        if held is not None:
            held.wait(timeout=10)
        if method == "response_url":
            # Slack answers a response_url post with a bare "ok"; it needs no token.
            return _Failure(method, 200, "ok")
        with self._lock:
            for failure in self._failures:
                if failure.times > 0 and failure.method in (None, method) and method != "auth.test":
                    failure.times -= 1
                    return failure
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return _Failure(method, 200, {"ok": False, "error": "invalid_auth"})
        if self.revoked is not None and method != "apps.connections.open":
            return _Failure(method, 200, {"ok": False, "error": self.revoked})
        refused = self._membership(method, params)
        if refused is not None:
            return _Failure(method, 200, {"ok": False, "error": refused})
        return _Failure(method, 200, self._success(method, params))

    def _membership(self, method: str, params: dict[str, Any]) -> str | None:
        """Slack's refusal of a call into a registered channel, or None."""
        with self._lock:
            channel = self.channels.get(str(params.get("channel", "")))
            if channel is None:
                return None
            if method == "conversations.join":
                if channel.private:
                    return "method_not_supported_for_channel_type"
                if channel.archived:
                    return "is_archived"
                channel.member = True
                return None
            if method not in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
                return None
            if channel.private and not channel.member:
                return "channel_not_found"
            if channel.archived:
                return "is_archived"
            if not channel.member:
                return "not_in_channel"
            return None

    def _success(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            answer = {
                "ok": True,
                "url": "https://tipoff-test.slack.com/",
                "team": "Tipoff Test",
                "user": "tipoff",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
            if self.enterprise_id is not None:  # a workspace of a Grid organisation
                answer["enterprise_id"] = self.enterprise_id
            return answer
        if method == "apps.connections.open":
            if self.socket_url is None:
                return {"ok": False, "error": "internal_error"}
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postMessage":
            target = str(params.get("channel", ""))
            if not target:
                return {"ok": False, "error": "channel_not_found"}
            channel = CHANNELS.get(target, target)
            ts = f"1763650800.{next(self._ts):06d}"
            message = {
                "type": "message",
                "subtype": "bot_message",
                "text": params.get("text", ""),
                "ts": ts,
                "bot_id": BOT_ID,
                "blocks": params.get("blocks", []),
            }
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            if not params.get("channel") or not params.get("ts"):
                return {"ok": False, "error": "message_not_found"}
            return {
                "ok": True,
                "channel": params["channel"],
                "ts": params["ts"],
                "text": params.get("text", ""),
                "message": {"text": params.get("text", ""), "blocks": params.get("blocks", [])},
            }
        if method == "chat.postEphemeral":
            if not params.get("channel") or not params.get("user"):
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "message_ts": f"1763650900.{next(self._ts):06d}"}
        if method == "users.lookupByEmail":
            user = self.users.get(str(params.get("email", "")).lower())
            if user is None:
                return {"ok": False, "error": "users_not_found"}
            return {
                "ok": True,
                "user": {"id": user, "team_id": TEAM_ID, "deleted": user in self.deactivated},
            }
        if method == "users.info":
            user = str(params.get("user", ""))
            if not user.startswith(("U", "W")):
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": self._user_object(user)}
        if method == "conversations.info":
            with self._lock:
                channel = self.channels.get(str(params.get("channel", "")))
            if channel is None or (channel.private and not channel.member):
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": self._conversation(channel)}
        if method == "conversations.list":
            return self._conversations_list(params)
        if method == "conversations.open":
            user = str(params.get("users", ""))
            if not user.startswith("U") or user in self.unreachable:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "views.publish":
            if not params.get("user_id"):
                return {"ok": False, "error": "invalid_arguments"}
            view = params.get("view") or {}
            return {"ok": True, "view": {"id": "V0HOMEVIEW", "team_id": TEAM_ID, **view}}
        if method == "conversations.join":
            channel = self.channels.get(str(params.get("channel", "")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            return {
                "ok": True,
                "channel": {
                    "id": channel.id,
                    "name": channel.name,
                    "is_channel": True,
                    "is_private": False,
                    "is_archived": False,
                    "is_member": True,
                },
            }
        if method == "files.getUploadURLExternal":
            return self._upload_url(params)
        if method == "files.completeUploadExternal":
            return self._complete_upload(params)
        if method == "views.open":
            if not params.get("trigger_id"):
                return {"ok": False, "error": "invalid_trigger_id"}
            view = params.get("view") or {}
            return {"ok": True, "view": {"id": "V0WRONGVIEW", "team_id": TEAM_ID, **view}}
        return {"ok": False, "error": "unknown_method"}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        """files.getUploadURLExternal: a file ID and a URL of this server to send the bytes
        to (Slack's is on another host, files.slack.com, which slack_sdk posts to as is)."""
        filename, length = str(params.get("filename") or ""), str(params.get("length") or "")
        if not filename or not length.isdigit() or int(length) <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            file_id = f"F{next(self._file_ids):010d}"
            self.files[file_id] = FakeFile(
                file_id, filename, int(length), params.get("alt_txt") or None
            )
        return {
            "ok": True,
            "upload_url": f"{self._server.url}/upload/v1/{file_id}",
            "file_id": file_id,
        }

    def _receive_upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        """The POST of a file's bytes to its upload URL: Slack answers "OK - <length>"."""
        with self._lock:
            self._calls.append(SlackCall("upload", {"file_id": file_id}, {}))
            self._changed.notify_all()
            known = self.files.get(file_id)
            if known is None or known.completed:
                return 404, "Not Found"
            if len(content) != known.length:
                return 400, "Bad Request: length differs from files.getUploadURLExternal's"
            known.content = content
        return 200, f"OK - {len(content)}"

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            listed = json.loads(str(params.get("files") or "[]"))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        completed = []
        with self._lock:
            for item in listed:
                known = self.files.get(str(item.get("id")))
                if known is None or known.content is None:
                    return {"ok": False, "error": "file_not_found"}
                known.title = item.get("title") or known.filename
                known.channel = params.get("channel_id") or None
                known.initial_comment = params.get("initial_comment") or None
                known.completed = True
                completed.append(
                    {
                        "id": known.id,
                        "name": known.filename,
                        "title": known.title,
                        "mimetype": "image/png" if known.filename.endswith(".png") else "",
                        "size": known.length,
                        "alt_txt": known.alt_txt,
                    }
                )
        return {"ok": True, "files": completed}

    def _user_object(self, user: str) -> dict[str, Any]:
        """users.info's `user` as Slack documents it. Anyone not described otherwise
        (`add_person`, `users`, `deactivated`) is a full member of TEAM_ID, as everyone
        who sends the bot a request is in a workspace of one organisation."""
        with self._lock:
            person = self.people.get(user) or FakePerson(user)
            emails = [e for e, u in self.users.items() if u == user]
        email = person.email or (emails[0] if emails else None)
        name = (email or user).split("@")[0]
        profile: dict[str, Any] = {
            "avatar_hash": "ge3b51ca72de",
            "status_text": "",
            "status_emoji": "",
            "real_name": name,
            "display_name": name,
            "real_name_normalized": name,
            "display_name_normalized": name,
            "team": person.team_id,
        }
        if email is not None:
            profile["email"] = email
        answer: dict[str, Any] = {
            "id": user,
            "team_id": person.team_id,
            "name": name,
            "deleted": user in self.deactivated,
            "color": "9f69e7",
            "real_name": name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": person.guest is not None,
            "is_ultra_restricted": person.guest == "single",
            "is_bot": False,
            "is_app_user": False,
            "updated": 1763650800,
            "has_2fa": False,
        }
        if person.enterprise_id is not None:
            answer["enterprise_user"] = {
                "id": user,
                "enterprise_id": person.enterprise_id,
                "enterprise_name": "Tipoff Test Org",
                "is_admin": False,
                "is_owner": False,
                "teams": [person.team_id],
            }
        return answer

    def _conversation(self, channel: FakeChannel) -> dict[str, Any]:
        """A conversation object as conversations.info and conversations.list give it."""
        shared = channel.ext_shared or channel.org_shared
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.private,
            "created": 1449252889,
            "is_archived": channel.archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": shared,
            "is_frozen": False,
            "is_org_shared": channel.org_shared,
            "is_pending_ext_shared": channel.pending_ext_shared,
            "pending_shared": [PARTNER_TEAM_ID] if channel.pending_ext_shared else [],
            "context_team_id": TEAM_ID,
            "updated": 1763650800000,
            "parent_conversation": None,
            "creator": "U0MAYAREP01",
            "is_ext_shared": channel.ext_shared,
            "shared_team_ids": [TEAM_ID, PARTNER_TEAM_ID] if channel.ext_shared else [TEAM_ID],
            "pending_connected_team_ids": [PARTNER_TEAM_ID] if channel.pending_ext_shared else [],
            "is_member": channel.member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """The channels a bot can see, `limit` a page, the next page's cursor in
        response_metadata ("" after the last page), as Slack paginates."""
        types = str(params.get("types") or "public_channel").split(",")
        exclude_archived = str(params.get("exclude_archived", "")).lower() in ("1", "true")
        with self._lock:
            visible = [
                self._conversation(c)
                for c in self.channels.values()
                if ("private_channel" if c.private else "public_channel") in types
                and (c.member or not c.private)
                and not (exclude_archived and c.archived)
            ]
        start = int(str(params.get("cursor") or "0").removeprefix("next:") or 0)
        limit = int(params.get("limit") or 100)
        page = visible[start : start + limit]
        more = start + limit < len(visible)
        return {
            "ok": True,
            "channels": page,
            "response_metadata": {"next_cursor": f"next:{start + limit}" if more else ""},
        }


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        loaded = json.loads(raw)
        return dict(loaded) if isinstance(loaded, dict) else {}
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        # slack_sdk form-encodes blocks and views as JSON strings.
        if name in ("blocks", "view", "attachments") and value.startswith(("[", "{")):
            params[name] = json.loads(value)
        else:
            params[name] = value
    return params


@contextmanager
def running_fake_slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
