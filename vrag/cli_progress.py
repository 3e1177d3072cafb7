"""Terminal rendering for the CLI: progress bars and summary tables (rich). CLI-private."""

from __future__ import annotations

from typing import Any

from .pipeline import IndexReport, ProgressEvent

_STAGE_LABEL = {
    "start": "starting", "hash": "hashing", "probe": "probing", "frames": "shots + on-screen text",
    "ocr": "on-screen text", "asr": "speech", "embed": "embedding", "write": "writing", "done": "done",
}


#: stages that report seconds of media done; they may run at the same time (two lanes)
_MEDIA_LANES = ("frames", "asr", "audio_event")


class IndexProgress:
    """Two bars on stderr: files done, and the current file's stage."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._progress: Any = None

    def __enter__(self) -> "IndexProgress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                TextColumn("eta"), TimeRemainingColumn(), console=Console(stderr=True), transient=True,
            )
            self._progress.__enter__()
            self._files = self._progress.add_task("files", total=None)
            self._stage = self._progress.add_task("", total=1)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def update(self, event: ProgressEvent) -> None:
        if self._progress is None:
            return
        p = self._progress
        if event.stage == "start":
            self._lanes: dict[str, float] = {}
            p.reset(self._stage, total=1)
            p.update(self._files, total=event.file_count, completed=event.file_index,
                     description=f"files {event.file_index + 1}/{event.file_count}")
        elif event.stage == "done":
            p.update(self._files, completed=event.file_index + 1)
        name = event.path if len(event.path) <= 40 else "…" + event.path[-39:]
        if event.total and event.stage in _MEDIA_LANES:
            # pictures and sound may run side by side: the file is as far as their mean
            self._lanes[event.stage] = min(1.0, event.done / event.total)
        if getattr(self, "_lanes", None):
            label = " + ".join(_STAGE_LABEL.get(s, s) for s in self._lanes if self._lanes[s] < 1.0) or "finishing"
            total, done = 1.0, sum(self._lanes.values()) / len(self._lanes)
        else:
            label = _STAGE_LABEL.get(event.stage, event.stage)
            total = event.total or 1.0
            done = event.done if event.total else (1.0 if event.stage == "done" else 0.0)
        if event.stage in ("embed", "write", "done"):
            label, done = _STAGE_LABEL.get(event.stage, event.stage), total
        p.update(self._stage, description=f"{_literal(name)}: {label}", total=total, completed=min(done, total))


def _literal(text: str) -> str:
    """A file name or message shown as it is: brackets are not rich markup ("talk [eng].mp4",
    "[/].mp4") and control characters (a newline in a file name) are shown escaped, on one line."""
    from rich.markup import escape

    return escape("".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text))


def _console() -> Any:
    """stdout as rich sees it; piped or redirected, lines are never wrapped (a long path stays one line,
    for grep and scripts): rich would otherwise assume 80 columns."""
    import sys

    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(width=100_000, soft_wrap=True)


def print_summary(report: IndexReport) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="vrag index", show_lines=False)
    for col in ("status", "file", "duration", "records", "time", "note"):
        table.add_column(col, overflow="fold")
    style = {"indexed": "green", "unchanged": "dim", "partial": "yellow", "failed": "red", "removed": "cyan"}
    for r in report.results:
        records = sum(r.counts.values()) if r.counts else 0
        table.add_row(
            f"[{style.get(r.status, '')}]{r.status}[/]", _literal(r.path),
            f"{r.duration:.1f}s" if r.duration else "", str(records) if records else "",
            f"{r.seconds:.1f}s" if r.seconds >= 0.05 else "", _literal(r.reason),
        )
    console.print(table)
    counts = {s: len(report.by_status(s)) for s in ("indexed", "unchanged", "partial", "failed", "removed")}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n or s in ("indexed", "failed")))


def print_status(status: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    if not status["videos"]:
        print(f"{status['db']}: nothing indexed yet; run `vrag index PATH --db {status['db']}`")
        return
    table = Table(title=f"vrag status: {status['db']}")
    table.add_column("file", overflow="fold", ratio=3)
    table.add_column("duration", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("records", overflow="fold", ratio=4)
    table.add_column("languages", overflow="fold")
    for v in status["videos"]:
        records = " · ".join(f"{m} {n}" for m, n in sorted(v["counts"].items()))
        table.add_row(_literal(v["path"]), f"{v['duration']:.1f}s", v["status"], records, ", ".join(v.get("languages", [])))
    console.print(table)
    if status.get("languages"):
        console.print("languages spoken: " + ", ".join(status["languages"]))
    for v in status["videos"]:
        for err in v["errors"]:
            console.print(f"[red]{_literal(v['path'])}[/]: {_literal(err)}")
        for note in v.get("warnings", []):
            console.print(f"[yellow]{_literal(v['path'])}[/]: {_literal(note)}")


def print_estimate(estimates: list[Any], as_json: bool) -> int:
    """``vrag index --estimate``: the expected time per file and in all; 1 if a file cannot be read."""
    import json

    from .estimate import MODEL_LOAD_SECONDS

    todo = [e for e in estimates if e.status == "todo"]
    total = sum(e.expected for e in todo) + (MODEL_LOAD_SECONDS if todo else 0.0)
    failed = any(e.status == "failed" for e in estimates)
    if as_json:
        print(json.dumps({"files": [e.to_json() for e in estimates], "seconds": round(total, 1),
                          "model_load_seconds": MODEL_LOAD_SECONDS if todo else 0.0}, indent=2))
        return 1 if failed else 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="vrag index --estimate")
    for col in ("file", "duration", "expected", "range", "redo / note"):
        table.add_column(col, overflow="fold")
    for e in estimates:
        if e.status == "todo":
            table.add_row(_literal(e.path), _clock(e.duration), _clock(e.expected),
                          f"{_clock(e.low)}-{_clock(e.high)}", "all" if e.whole else ", ".join(e.stages))
        else:
            table.add_row(_literal(e.path), _clock(e.duration) if e.duration else "", "0s" if e.status == "unchanged"
                          else "", "", "unchanged" if e.status == "unchanged" else f"[red]{_literal(e.reason)}[/]")
    console = Console()
    console.print(table)
    media = sum(e.duration for e in todo)
    console.print(f"{len(todo)} to index ({_clock(media)} of media): about {_clock(total)} on this machine's "
                  f"figures, models included; screen recordings land near the top of their range, slides near the bottom")
    return 1 if failed else 0


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
