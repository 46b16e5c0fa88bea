"""The pure core: plain data in, plain data out, `now` passed in. No I/O, no Slack, no SQL."""
