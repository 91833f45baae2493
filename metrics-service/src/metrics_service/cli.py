"""``python -m metrics_service.cli rebuild``: drop and rebuild every projection, with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from metrics_service.config import MetricsSettings
from metrics_service.rebuild import rebuild
from shared.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="python -m metrics_service.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild_cmd = commands.add_parser("rebuild", help="truncate the projections and replay every event")
    rebuild_cmd.add_argument("--no-logs", action="store_true", help="skip the services' event logs")
    rebuild_cmd.add_argument("--no-kafka", action="store_true", help="skip the topics the broker holds")
    args = parser.parse_args(argv)
    if args.command == "rebuild":
        settings = load_settings(MetricsSettings)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            transient=False,
        ) as bar:
            tasks: dict[str, object] = {}

            def report(name: str, done: int, goal: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(f"metrics.{name}", total=goal)
                bar.update(tasks[name], completed=done, total=goal)  # type: ignore[arg-type]

            result = asyncio.run(
                rebuild(settings, progress=report, logs=not args.no_logs, kafka=not args.no_kafka)
            )
        print(f"rebuilt from {result.events} events ({result.from_logs} from event logs)", file=sys.stderr)
        if result.logs_missing:
            print(f"no event log from: {', '.join(result.logs_missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
