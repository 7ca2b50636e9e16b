"""Structured progress for the process that started the trainer.

Each event is one line on stdout: the prefix, then a JSON object. Library output (warnings, logs)
goes wherever it goes; the reader only takes lines that carry the prefix.
"""

import json
import os
import sys
import time

PREFIX = "SERA_EVENT "

# Exit statuses the activity wrapper tells apart.
EXIT_BAD_INPUT = 3
EXIT_ORPHANED = 4


def emit(event: str, **fields) -> None:
    # Under torchrun every process trains; only the first one reports.
    if os.environ.get("RANK", "0") != "0":
        return
    record = {"event": event, "time": round(time.time(), 3), **fields}
    sys.stdout.write(PREFIX + json.dumps(record) + "\n")
    sys.stdout.flush()


class BadInput(Exception):
    """Input no retry can fix: the dataset, the model path or the recipe is wrong."""


def fail_bad_input(message: str) -> None:
    emit("error", kind="bad_input", message=message)
    sys.exit(EXIT_BAD_INPUT)
