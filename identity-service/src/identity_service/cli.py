"""``python -m identity_service.cli create-admin``: create the first (or another) admin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from identity_service.config import IdentitySettings
from identity_service.staff.service import ensure_admin
from shared.db import create_engine, create_session_factory
from shared.settings import load_settings


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    from_env = os.environ.get("QUNYUN_ADMIN_PASSWORD")
    if from_env:
        return from_env
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise SystemExit("passwords differ")
    return first


async def _create_admin(settings: IdentitySettings, username: str, password: str) -> bool:
    engine = create_engine(settings.own_database_url(), pool_size=1, max_overflow=0)
    try:
        return await ensure_admin(create_session_factory(engine), username=username, password=password)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(prog="python -m identity_service.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an admin account if the username is free")
    create.add_argument("--username", help="default: QUNYUN_ADMIN_USERNAME or 'admin'")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args(argv)

    settings = load_settings(IdentitySettings)
    username = (args.username or settings.admin_username).strip().lower()
    password = _password(args)
    if len(password) < settings.staff_min_password_length:
        print(f"the password needs at least {settings.staff_min_password_length} characters", file=sys.stderr)
        return 2
    created = asyncio.run(_create_admin(settings, username, password))
    print(f"admin {username!r} created" if created else f"an account named {username!r} already exists")
    return 0 if created else 1


if __name__ == "__main__":
    sys.exit(main())
