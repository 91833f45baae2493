"""``python -m identity_service.cli``: operator commands.

``create-admin`` creates the first (or another) admin; ``rekey`` finishes a
secret-key rotation (see :mod:`identity_service.rekey`); ``republish-phones``
republishes ``phone_bound`` with the sealed number for phones bound before
sealing (see :mod:`identity_service.phones.republish`; the worker also runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from dataclasses import asdict

from identity_service.config import IdentitySettings
from identity_service.crypto import FieldCipher
from identity_service.phones.republish import RepublishReport, republish_sealed
from identity_service.rekey import DEFAULT_BATCH, RekeyReport, rekey
from identity_service.staff.service import ensure_admin
from shared.db import create_engine, create_session_factory
from shared.sealing import Sealer
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


async def _rekey(settings: IdentitySettings, batch: int) -> RekeyReport:
    engine = create_engine(settings.own_database_url(), pool_size=1, max_overflow=0)
    try:
        return await rekey(create_session_factory(engine), FieldCipher(settings.verification_keys()), batch=batch)
    finally:
        await engine.dispose()


async def _republish(settings: IdentitySettings, batch: int) -> RepublishReport:
    engine = create_engine(settings.own_database_url(), pool_size=1, max_overflow=0)
    factory = create_session_factory(engine)
    factory.configure(info={"service": settings.service_name})  # emit() names the producing service
    keys = settings.verification_keys()
    try:
        return await republish_sealed(factory, cipher=FieldCipher(keys), sealer=Sealer(keys), batch=batch)
    finally:
        await engine.dispose()


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
    rekey_cmd = commands.add_parser(
        "rekey", help="rewrite phones and session keys under QUNYUN_SECRET_KEY (after a rotation)"
    )
    rekey_cmd.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per transaction")
    republish_cmd = commands.add_parser(
        "republish-phones", help="republish phone_bound (sealed) for phones bound before sealing"
    )
    republish_cmd.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per transaction")
    args = parser.parse_args(argv)

    settings = load_settings(IdentitySettings)
    if args.command == "rekey":
        report = asyncio.run(_rekey(settings, max(1, args.batch)))
        print(json.dumps(asdict(report)))
        return 1 if any(report.unreadable.values()) else 0
    if args.command == "republish-phones":
        published = asyncio.run(_republish(settings, max(1, args.batch)))
        print(json.dumps(asdict(published)))
        return 1 if published.unreadable else 0
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
