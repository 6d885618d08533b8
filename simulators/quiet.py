"""Silence what pybullet's C code prints on import and on connect ("pybullet build time", "argv[0]=")."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def c_output_silenced() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null for the duration (Python's own streams are flushed first)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no real descriptors (an embedded interpreter): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in (*saved, devnull):
            os.close(descriptor)


with c_output_silenced():
    import pybullet  # noqa: E402  (imported here once, quietly; `from simulators.quiet import pybullet`)

__all__ = ["c_output_silenced", "pybullet"]
