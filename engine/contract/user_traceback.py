"""The part of a traceback that is the user's own: frames of their code, never rft's.

A failure reaches people as a message in words and, when their own code (a
reward function, say) raised, that code's frames. rft's own frames
(``engine/``, ``rft_tui/``) never do, nor the standard-library and package
frames that led into the user's code; the full traceback stays in a log
(``worker.log`` and ``events.jsonl`` for a run, the file ``keep_full`` writes
otherwise) for whoever debugs rft. It works on traceback text, since
tracebacks cross processes as text. Pure Python: the UI uses it too.
"""

from __future__ import annotations

import re
import site
import sysconfig
from pathlib import Path

_RFT_DIRS = tuple(Path(__file__).resolve().parents[2] / name for name in ("engine", "rft_tui"))
_FRAME = re.compile(r'^(?P<indent>[ |]*)File "(?P<file>[^"]+)", line \d+')
_HEADER = "Traceback (most recent call last):"
_CHAINING = ("During handling of the above exception", "The above exception was the direct cause")


def _library_dirs() -> tuple[Path, ...]:
    paths = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(getattr(site, "getsitepackages", lambda: [])())
    return tuple(Path(p).resolve() for p in paths)


_LIBRARY_DIRS = _library_dirs()


def _under(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def is_rft_file(filename: str) -> bool:
    """True for a file of rft's own code (``engine/``, ``rft_tui/``), wherever the checkout is."""
    path = Path(filename)
    if not path.is_absolute():
        return path.parts[:1] in {("engine",), ("rft_tui",)}
    return _under(path.resolve(), _RFT_DIRS)


def is_user_file(filename: str) -> bool:
    """True for code of the user's: neither rft's, nor Python's, nor an installed package's."""
    if filename.startswith("<") or is_rft_file(filename):
        return False
    return not _under(Path(filename).resolve(), _LIBRARY_DIRS)


def _sections(text: str) -> list[list[str]]:
    """Each ``Traceback (most recent call last):`` block of a (possibly chained) traceback."""
    sections: list[list[str]] = []
    for line in text.splitlines():
        if line.strip(" |+-").endswith(_HEADER):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    return sections


def _user_part(lines: list[str]) -> list[str]:
    """One block's frames from the user's first own frame on, rft's left out, then its exception lines."""
    frames: list[str] = []
    said: list[str] = []
    indent: str | None = None  # inside a frame: its prefix; its source lines are indented further
    keep = seen_user = False
    for line in lines:
        match = _FRAME.match(line)
        if match:
            indent, name = match["indent"], match["file"]
            seen_user = seen_user or is_user_file(name)
            keep = seen_user and not is_rft_file(name)
        elif indent is not None and (line.startswith(indent + "  ") or line.strip(" |").startswith("[Previous line")):
            pass  # the frame's source line or caret line
        else:
            indent, keep = None, False
            if line.strip() and not line.lstrip(" |").startswith(_CHAINING):
                said.append(line)
            continue
        if keep:
            frames.append(line)
    return [_HEADER, *frames, *said] if seen_user else []


def user_traceback(text: str | None) -> str:
    """The frames of ``text`` that are the user's own code, with their exception; '' when it has none."""
    if not text:
        return ""
    return "\n".join(line for section in _sections(text) for line in _user_part(section))


def user_report(message: str, traceback: str | None = None, details: str | None = None) -> str:
    """What a person reads about a failure: the message, the user's own frames if any; else, when
    ``details`` says where the full traceback was kept (a bug of rft's), that place."""
    frames = user_traceback(traceback)
    if frames:
        return f"{message}\n{frames}"
    if details:
        return f"{message}\nThis looks like a bug in rft; the full traceback is in {details}"
    return message


def keep_full(name: str, text: str) -> Path:
    """Write a full traceback to ``logs/NAME.log`` in rft's cache (the latest one); returns the file."""
    from engine.contract.atomic_files import atomic_write_text
    from engine.contract.user_cache import cache_dir

    path = cache_dir() / "logs" / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path
