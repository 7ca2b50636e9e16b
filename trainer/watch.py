"""The trainer ends itself when the worker that started it is gone.

A worker killed with SIGKILL cannot stop its trainer; without this the trainer (every rank under
torchrun) would go on holding the GPUs, training for no one.
"""

import os
import threading
import time

from events import EXIT_ORPHANED


def process_gone(pid: int) -> bool:
    """True when pid has exited: no such process, or a zombie its parent has not reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            # The state follows the command name, which is in parentheses and may hold spaces.
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def exit_with_parent() -> None:
    """Exit at once when the worker dies. Under torchrun the parent is torchrun, not the worker,
    so the worker names itself in SERA_WATCH_PID and every rank watches that process."""
    parent = os.getppid()
    watched = int(os.environ.get("SERA_WATCH_PID", "0"))

    def watch() -> None:
        while True:
            time.sleep(1)
            if (watched and process_gone(watched)) or (not watched and os.getppid() != parent):
                os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, daemon=True).start()
