"""Progress of a long run on the terminal (rich): messages sent, rate and errors."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TaskID, TextColumn, TimeElapsedColumn

from simulators.publisher import PublishReport


class ProgressDisplay:
    """A live progress line; a bar when the total is known (backfill, load), a counter otherwise."""

    def __init__(self, title: str, *, total: int | None, console: Console, enabled: bool = True) -> None:
        self.total = total
        columns: list[ProgressColumn] = [TextColumn(f"[bold]{title}[/]")]
        if total is not None:
            columns.append(BarColumn())
        columns += [
            TextColumn("{task.fields[sent]} sent, {task.fields[acked]} acked"),
            TextColumn("{task.fields[rate]:.0f} msg/s"),
            TextColumn("[red]{task.fields[errors]} errors"),
            TimeElapsedColumn(),
        ]
        self._progress = Progress(*columns, console=console, disable=not enabled, transient=False)
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        self._task = self._progress.add_task("run", total=self.total, sent=0, acked=0, rate=0.0, errors=0)
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def update(self, report: PublishReport) -> None:
        if self._task is None:
            return
        completed = report.acked
        if self.total is not None and completed > self.total:
            self._progress.update(self._task, total=completed)
        self._progress.update(
            self._task,
            completed=completed,
            sent=report.sent,
            acked=report.acked,
            rate=report.rate,
            errors=report.errors,
        )
