"""Progress of the long commands (train, backtest, retrain, score, features): a rich bar
with the stage's name and count on a terminal; elsewhere (a log file, CI, a pipe) one
plain line per stage, so that a run that takes minutes never looks stuck."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


class StageProgress:
    """The subset of rich.progress.Progress the commands use (add_task, update, advance),
    on a terminal or as lines."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = (Progress(TextColumn("{task.description:<44}"), BarColumn(),
                             TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                             console=console, transient=True)
                    if console.is_terminal else None)
        self.tasks: dict[int, dict] = {}
        self.started = time.monotonic()

    def __enter__(self) -> StageProgress:
        if self.bar is not None:
            self.bar.__enter__()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
        elif exc[0] is None:
            for task in self.tasks.values():
                self._line(task, "done")

    def add_task(self, description: str, total: int | None = None) -> int:
        task_id = self.bar.add_task(description, total=total) if self.bar is not None else \
            len(self.tasks)
        self.tasks[task_id] = {"description": description, "completed": 0, "total": total,
                               "said": None}
        return task_id

    def update(self, task_id: int, *, description: str | None = None,
               completed: int | None = None, total: int | None = None) -> bool:
        """Returns whether a line was printed (a new stage, off a terminal)."""
        task = self.tasks[task_id]
        for key, value in (("description", description), ("completed", completed),
                           ("total", total)):
            if value is not None:
                task[key] = value
        if self.bar is not None:
            self.bar.update(task_id, description=task["description"],
                            completed=task["completed"], total=task["total"])
        elif task["description"] != task["said"]:
            self._line(task)
            return True
        return False

    def advance(self, task_id: int) -> None:
        task = self.tasks[task_id]
        if not self.update(task_id, completed=task["completed"] + 1) and self.bar is None:
            self._line(task)

    def _line(self, task: dict, note: str = "") -> None:
        """`[  12s] gate backtest origin 2024-01: churn (3/12)`"""
        task["said"] = task["description"]
        count = f" ({task['completed']}/{task['total']})" if task["total"] else ""
        elapsed = time.monotonic() - self.started
        self.console.print(f"[{elapsed:5.0f}s] {task['description']}{count}"
                           f"{' ' + note if note else ''}", highlight=False, markup=False,
                           soft_wrap=True)
