"""Files into Slack, through Slack's current upload flow: files.getUploadURLExternal, the
bytes posted to the URL it returns, then files.completeUploadExternal to share the file
(files.upload is retired). slack_sdk's `files_upload_v2` makes exactly those three calls;
it needs the files:write scope."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

# Slack cuts alt text at 1,000 characters; the chart's numbers are in the message anyway.
ALT_TEXT_LIMIT = 1000


async def upload_image(
    slack: AsyncWebClient,
    *,
    channel: str,
    content: bytes,
    filename: str,
    title: str,
    alt_text: str,
    comment: str | None = None,
) -> str:
    """Shares the image `content` into `channel` with its `alt_text` (what a screen reader
    says of it); returns the file's ID. Raises what Slack refused (SlackApiError) or a
    failed upload (SlackRequestError)."""
    shown = alt_text if len(alt_text) <= ALT_TEXT_LIMIT else alt_text[: ALT_TEXT_LIMIT - 1] + "…"
    response = await slack.files_upload_v2(
        channel=channel,
        file=content,
        filename=filename,
        title=title,
        alt_txt=shown,
        initial_comment=comment,
    )
    return str((response.get("file") or {}).get("id") or "")
