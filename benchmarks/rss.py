"""`python -m benchmarks.rss OUT -- tipoff ARGS…`: runs Tipoff's CLI in this process and
writes its peak resident set size (bytes) to OUT. `-- floor CSV` instead only streams the
CSV file through `csv.reader` after importing Tipoff: the smallest a streaming import
could be."""

from __future__ import annotations

import csv
import importlib
import resource
import sys
from pathlib import Path


def peak_rss() -> int:
    """This process's peak resident set, in bytes. VmHWM, not ru_maxrss: Linux carries a
    parent's ru_maxrss across fork and exec, so a child spawned by a big benchmark
    process would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main() -> None:
    out, separator, command, *args = sys.argv[1:]
    assert separator == "--"
    status = 0
    try:
        if command == "floor":
            importlib.import_module("tipoff.cli")  # what every import pays before a row

            with open(args[0], newline="", encoding="utf-8-sig") as handle:
                sum(1 for _ in csv.reader(handle))
        else:
            from tipoff.cli import main as cli

            sys.argv = [command, *args]
            cli()
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else 1
    Path(out).write_text(str(peak_rss()))
    sys.exit(status)


if __name__ == "__main__":
    main()
