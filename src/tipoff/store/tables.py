"""The schema: one place for every table. Changes go through Alembic migrations
(`tipoff/store/migrations`), which are checked against this file by the test suite."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tipoff.core.workflow import AlertStatus
from tipoff.store.dialect import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a
# table that grows by millions of rows.
Id = BigInteger().with_variant(Integer(), "sqlite")

sources = Table(
    "sources",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("category", String(20), nullable=True),  # product | marketing | outcome
    # SHA-256 of the write key: keys are 32 random bytes, so a fast hash is enough, and
    # looking a key up by its hash compares nothing secret in Python.
    Column("write_key_hash", String(64), nullable=False, unique=True),
    Column("key_hint", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    # api (the /v1/* calls) or a vendor's webhook destination (tipoff.sources.KINDS).
    Column("kind", String(30), nullable=False, server_default="api"),
    # A webhook source authenticated by a header the sender adds (its value is the
    # secret, checked against write_key_hash); NULL for X-Signature or api sources.
    Column("auth_header", String(100), nullable=True),
    # An X-Signature source's HMAC secret is derived from TIPOFF_SECRET_KEY and this
    # random salt: the database alone cannot forge a signature.
    Column("secret_salt", String(64), nullable=True),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("domain", String(255), nullable=True, unique=True),
    Column("group_id", String(255), nullable=True, unique=True),
    Column("name", String(255), nullable=True),
    Column("employees", Integer, nullable=True),
    Column("industry", String(255), nullable=True),
    Column("traits", JSON, nullable=False, default=dict),
    # When each trait key was given (key -> microseconds since the epoch, UTC): a newer
    # call's value wins, whichever arrives or is written last (core/traits.py).
    # (A server default, not a Python one, so that rows written under an older schema,
    # as the migration tests do, are written without it.)
    Column("trait_times", JSON, nullable=False, server_default="{}"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Ingest bumps signal_version; a rescore records the version it scored. An account
    # is due for rescoring while signal_version > scored_version: a counter, not a
    # timestamp, so replicas with skewed clocks cannot miss a change.
    Column("signal_version", Integer, nullable=False, default=0),
    Column("scored_version", Integer, nullable=False, default=0),
)
Index("ix_accounts_name", accounts.c.name)

people = Table(
    "people",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(320), nullable=True, unique=True),
    Column("name", String(255), nullable=True),
    Column("title", String(255), nullable=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=True, index=True),
    # "group" when a group call placed the person; "domain" when their email did. A group
    # call outranks the email's domain.
    Column("account_via", String(10), nullable=True),
    Column("traits", JSON, nullable=False, default=dict),
    Column("trait_times", JSON, nullable=False, server_default="{}"),  # as accounts.trait_times
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(12), nullable=False),  # user_id | anonymous_id
    Column("external_id", String(255), nullable=False),
    Column("person_id", Id, ForeignKey("people.id"), nullable=False, index=True),
    UniqueConstraint("kind", "external_id", name="uq_identities_kind_external_id"),
)

# Every accepted Segment call, de-duplicated per source on messageId. track/page/screen
# rows are the signals that scoring reads; identify/group/alias rows are kept so that a
# retried call is recognised and nothing acknowledged is lost.
events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("source_id", Id, ForeignKey("sources.id"), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("event", String(255), nullable=True),
    Column("person_id", Id, ForeignKey("people.id"), nullable=True, index=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("properties", JSON, nullable=False, default=dict),
    UniqueConstraint("source_id", "message_id", name="uq_events_source_id_message_id"),
)
Index("ix_events_account_occurred", events.c.account_id, events.c.occurred_at)

scores = Table(
    "scores",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("raw_points", Float, nullable=False),
    Column("track", String(20), nullable=False),
    Column("fit", Float, nullable=False),
    Column("product", Float, nullable=False),
    Column("marketing", Float, nullable=False),
    Column("timing", Float, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("contact", JSON, nullable=True),
    Column("model_name", String(100), nullable=False),
    Column("scored_at", UTCDateTime, nullable=False),
)
Index("ix_scores_score", scores.c.score)

score_history = Table(
    "score_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("score", Integer, nullable=False),
    Column("track", String(20), nullable=False),
    Column("scored_at", UTCDateTime, nullable=False),
)
Index("ix_score_history_account_scored", score_history.c.account_id, score_history.c.scored_at)

# The outbox: an alert is queued in the same transaction as the score that caused it and
# stays here until Slack has accepted it.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("track", String(20), nullable=False),
    Column("score", Integer, nullable=False),
    Column("reason", String(255), nullable=False),
    Column("text", Text, nullable=False),
    Column("blocks", JSON, nullable=False),
    Column("target", String(255), nullable=False),  # channel name/ID asked for
    # An AlertStatus: pending | sent | bundled | failed (see failure_reason)
    Column("status", String(10), nullable=False, default=AlertStatus.PENDING),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("channel", String(64), nullable=True),  # channel ID Slack posted into
    Column("ts", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("previewed_at", UTCDateTime, nullable=True),  # printed to the console
    # Rep workflow (issue 3): the owner it is for (a DM, `target` the fallback channel),
    # the evidence rules it showed (a new strong one may alert again), claim and SLA times.
    Column("owner_user_id", String(64), nullable=True),
    Column("owner_email", String(320), nullable=True),
    Column("evidence_rules", JSON, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    # Slack delivery (issue 15): a permanent refusal (channel_not_found, is_archived …)
    # marks the alert failed with Slack's error code, kept with its content so that
    # `tipoff alerts --retry` can send it again once the cause is fixed.
    Column("failure_reason", String(64), nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),
)
Index("ix_alerts_status_next", alerts.c.status, alerts.c.next_attempt_at)
# A click on a posted alert names the message by channel and ts.
Index("ix_alerts_channel_ts", alerts.c.channel, alerts.c.ts)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Id, primary_key=True),
    Column("alert_id", Id, ForeignKey("alerts.id"), nullable=True, index=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("slack_user_id", String(64), nullable=False),
    Column("slack_user_name", String(255), nullable=True),
    Column("verdict", String(10), nullable=False),  # right | wrong | claim | snooze
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- model quality (issue 4)

# Every model that went live: which file text, when, and who changed it. Start-up compares
# the model in use with the newest row; a different hash is a change (logged, rescored).
model_changes = Table(
    "model_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("model_name", String(100), nullable=False),
    Column("content_hash", String(64), nullable=False),  # SHA-256 of the file text
    Column("model_text", Text, nullable=False),
    Column("changed_by", String(255), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

# --- rep workflow (issue 3)

# One owner per account: set by a claim or by `/tipoff assign` (an `owner_email` group
# trait is read from accounts.traits and needs no row).
account_owners = Table(
    "account_owners",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("slack_user_id", String(64), nullable=False, index=True),
    Column("via", String(10), nullable=False),  # claim | assign
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", UTCDateTime, nullable=False),
)

# A snoozed account raises no alert until `until`.
snoozes = Table(
    "snoozes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("slack_user_id", String(64), nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# users.lookupByEmail answers, kept so that each owner's email is looked up once.
slack_users = Table(
    "slack_users",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("slack_user_id", String(64), nullable=True),  # None: no such Slack user
    Column("looked_up_at", UTCDateTime, nullable=False),
)

# One row per channel and local day a digest went out: sent once a day, across restarts
# and replicas (the primary key is the lock).
digests = Table(
    "digests",
    metadata,
    Column("channel", String(255), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD in the digest's time zone
    Column("sent_at", UTCDateTime, nullable=False),
)

# --- privacy (issue 5)

# Each erasure (`tipoff forget`): a SHA-256 of the email, never the address, so the record
# proves the erasure without undoing it.
erasures = Table(
    "erasures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email_hash", String(64), nullable=False, index=True),
    Column("events_deleted", Integer, nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("erased_at", UTCDateTime, nullable=False),
)

# --- Slack delivery (issue 15)

# Whether Tipoff may post to the workspace: one row (id 1). An install-level refusal
# (invalid_auth, token_revoked, account_inactive) or an app_uninstalled / tokens_revoked
# event pauses every post, on every replica, until auth.test succeeds again.
slack_workspace = Table(
    "slack_workspace",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paused_reason", String(64), nullable=True),  # None: posting
    Column("paused_detail", Text, nullable=True),
    Column("paused_at", UTCDateTime, nullable=True),
    Column("checked_at", UTCDateTime, nullable=True),  # the last auth.test while paused
    Column("resumed_at", UTCDateTime, nullable=True),
)

# Posts other than alerts that Slack refused for good (an SLA reminder, an escalation, a
# daily digest): recorded once rather than retried every minute, and surfaced.
slack_failures = Table(
    "slack_failures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(20), nullable=False),  # reminder | escalation | digest
    Column("subject", String(255), nullable=False),  # the alert id, or the digest's day
    Column("channel", String(255), nullable=False),
    Column("reason", String(64), nullable=False),  # Slack's error code
    Column("failed_at", UTCDateTime, nullable=False),
)
Index("ix_slack_failures_failed_at", slack_failures.c.failed_at)

# --- CRM sync (issue 22)

# The CRM's account records as last read (HubSpot companies, Salesforce Accounts): a
# Tipoff account is linked to the record whose domain is its own (tipoff.crm_sync), so a
# link is found again when either side changes and never guessed when two records share
# a domain.
crm_records = Table(
    "crm_records",
    metadata,
    Column("id", Id, primary_key=True),
    Column("crm", String(20), nullable=False),  # hubspot | salesforce
    Column("record_id", String(64), nullable=False),
    Column("domain", String(255), nullable=True),  # normalised; None: the record has none
    Column("name", String(255), nullable=True),
    Column("owner_email", String(320), nullable=True),
    Column("modified_at", UTCDateTime, nullable=False),
    UniqueConstraint("crm", "record_id", name="uq_crm_records_crm_record_id"),
)
Index("ix_crm_records_domain", crm_records.c.crm, crm_records.c.domain)

# What was last written onto each linked account's record: a value is written again only
# when it differs (or when it went to another record), and a refused write leaves its
# row as it was, so the account is still "changed" on the next run.
crm_writes = Table(
    "crm_writes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("crm", String(20), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("score", Integer, nullable=False),
    Column("track", String(20), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("scored_at", UTCDateTime, nullable=False),
    Column("written_at", UTCDateTime, nullable=False),
    UniqueConstraint("crm", "account_id", name="uq_crm_writes_crm_account_id"),
)

# Where each incremental read stopped (opaque to Tipoff: the client's cursor).
crm_cursors = Table(
    "crm_cursors",
    metadata,
    Column("id", Id, primary_key=True),
    Column("crm", String(20), nullable=False),
    Column("kind", String(20), nullable=False),  # accounts | deals
    Column("cursor", String(255), nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
    UniqueConstraint("crm", "kind", name="uq_crm_cursors_crm_kind"),
)

# Deals read whose company could not be placed yet: its record not read yet (created
# after the run's record read), or read without a domain. Kept as read and placed again
# on every run, so their outcomes arrive once the company does, without the deal having
# to change again.
crm_pending_deals = Table(
    "crm_pending_deals",
    metadata,
    Column("id", Id, primary_key=True),
    Column("crm", String(20), nullable=False),
    Column("deal_id", String(64), nullable=False),
    Column("deal", JSON, nullable=False),  # the deal as read (tipoff.crm_sync)
    Column("reason", Text, nullable=False),
    Column("since", UTCDateTime, nullable=False),  # first kept
    UniqueConstraint("crm", "deal_id", name="uq_crm_pending_deals_crm_deal_id"),
)

# One row per sync run (dry runs store nothing): its counts and what it skipped and why,
# for `tipoff crm status` and /healthz.
crm_runs = Table(
    "crm_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("crm", String(20), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("written", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("refused", Integer, nullable=False),
    Column("unmatched", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("outcomes", Integer, nullable=False),
    Column("owners", Integer, nullable=False),
    Column("stopped", Text, nullable=True),  # why the run stopped early, if it did
    Column("report", JSON, nullable=False),  # skipped accounts and refusals, by reason
)
Index("ix_crm_runs_crm", crm_runs.c.crm, crm_runs.c.id)
