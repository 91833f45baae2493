"""``qunyun-local``: run the whole system locally (``make run``), or parts of it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from qunyun_local.migrate import MigrationError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qunyun-local",
        description="Run Qunyun locally: embedded PostgreSQL, the Tansu broker, the WeChat simulator,"
        " every service and the gateway. DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS point at your own"
        " server / cluster instead; QUNYUN_<NAME>_PORT moves a port.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("QUNYUN_DATA_DIR") or ".data"),
        help="where the database, generated keys and logs live (default: ./.data)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="start everything and stop it all on Ctrl-C (default)")
    commands.add_parser("infra", help="PostgreSQL, broker, topics and migrations only, until Ctrl-C")
    commands.add_parser("migrate", help="apply every service's migrations")
    commands.add_parser("env", help="print the environment as shell exports (secrets included)")
    commands.add_parser("stop", help="stop what a launcher left running (PostgreSQL, leftovers)")
    commands.add_parser("demo", help="walk the running system through a small campaign (needs `run`)")
    revision = commands.add_parser("revision", help="autogenerate an Alembic revision for one service")
    revision.add_argument("service", help="gateway, identity, campaign, tagging, messaging or metrics")
    revision.add_argument("-m", "--message", required=True, help="the revision message")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qunyun-local`` console script."""
    args = _parser().parse_args(argv)
    from qunyun_local import stack

    data_dir: Path = args.data_dir.expanduser().resolve()
    command = args.command or "run"
    try:
        ports = stack.Ports.from_env()
        if command == "run":
            return stack.run(data_dir, ports)
        if command == "infra":
            return stack.infra(data_dir, ports)
        if command == "migrate":
            return stack.migrate(data_dir, ports)
        if command == "env":
            print(stack.shell_exports(stack.build_env(data_dir, ports)))
            return 0
        if command == "stop":
            return stack.stop(data_dir)
        if command == "demo":
            from qunyun_local.demo import run_demo

            env = stack.build_env(data_dir, ports)
            run_demo(env["QUNYUN_GATEWAY_URL"], env["QUNYUN_WECHAT_API_BASE"],
                     env.get("QUNYUN_ADMIN_USERNAME", "admin"), env["QUNYUN_ADMIN_PASSWORD"])
            return 0
        if command == "revision":
            return stack.revision(data_dir, ports, args.service, args.message)
    except (stack.StackError, MigrationError) as exc:
        print(f"qunyun-local: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    raise AssertionError(command)


if __name__ == "__main__":
    sys.exit(main())
