"""Progress of a long run: a live rich line on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TaskID, TextColumn, TimeElapsedColumn

from simulators.publisher import PublishReport

# How often a run that is not on a terminal (a log file, a pipe, CI) prints where it is.
PLAIN_EVERY_S = 5.0


class ProgressDisplay:
    """A live progress line; a bar when the total is known (backfill, load), a counter otherwise.

    When the console is not a terminal, rich would print nothing until the end, so the display
    writes one unwrapped line every ``plain_every_s`` seconds instead, and one at the end.
    """

    def __init__(
        self,
        title: str,
        *,
        total: int | None,
        console: Console,
        enabled: bool = True,
        plain_every_s: float = PLAIN_EVERY_S,
    ) -> None:
        self.title = title
        self.total = total
        self.console = console
        self.enabled = enabled
        self.plain = not console.is_terminal
        self.plain_every_s = plain_every_s
        self._last_plain = time.monotonic()
        self._last_report: PublishReport | None = None
        columns: list[ProgressColumn] = [TextColumn(f"[bold]{title}[/]")]
        if total is not None:
            columns.append(BarColumn())
        columns += [
            TextColumn("{task.fields[sent]} sent, {task.fields[acked]} acked"),
            TextColumn("{task.fields[rate]:.0f} msg/s"),
            TextColumn("[red]{task.fields[errors]} errors"),
            TimeElapsedColumn(),
        ]
        self._progress = Progress(*columns, console=console, disable=not enabled or self.plain, transient=False)
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        self._task = self._progress.add_task("run", total=self.total, sent=0, acked=0, rate=0.0, errors=0)
        self._last_plain = time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()
        if self.enabled and self.plain and self._last_report is not None:
            self._print_plain(self._last_report)

    def update(self, report: PublishReport) -> None:
        if self._task is None:
            return
        self._last_report = report
        if self.enabled and self.plain:
            now = time.monotonic()
            if now - self._last_plain >= self.plain_every_s:
                self._last_plain = now
                self._print_plain(report)
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

    def _print_plain(self, report: PublishReport) -> None:
        share = f" of about {self.total}" if self.total else ""
        self.console.print(
            f"{self.title}: {report.sent} sent{share}, {report.acked} acked, {report.errors} errors, "
            f"{report.rate:.0f} msg/s, {report.elapsed_s:.0f}s",
            markup=False,
            highlight=False,
        )
