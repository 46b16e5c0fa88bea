"""Names the command line shows in its help and the services use, kept in a module that
imports nothing, so `tipoff --help` can show them without loading the services."""

from __future__ import annotations

# What a source sends (for the records; the model file decides scoring) and the ways it
# authenticates (tipoff.sources).
SOURCE_CATEGORIES = ("product", "marketing", "outcome")
SOURCE_KINDS = ("api", "segment-webhook", "rudderstack-webhook", "posthog-webhook")
# Segment signs; RudderStack and PostHog add a header the user types in, so they default
# to one (Segment can use a header too, for a Webhooks (Actions) mapping without a secret).
SIGNATURE_HEADER = "X-Signature"
DEFAULT_AUTH_HEADER = "X-Tipoff-Secret"
# The sources that file imports store their rows under unless told otherwise.
CSV_IMPORT_SOURCE = "csv-import"
CRM_IMPORT_SOURCE = "crm-import"
