"""fact tables count their changes

A statement-level trigger on every table segments' fact and attribute
clauses read advances the ``fact_changes`` sequence, so a process can tell
cheaply (one ``last_value`` read) whether a materialised fact may be stale
instead of aggregating it again every second.

Revision ID: 9e41b7c3d2a8
Revises: 7d3a9c41e5b2
Create Date: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9e41b7c3d2a8"
down_revision: str | None = "7d3a9c41e5b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("member_facts", "period_info", "member_periods", "member_checkins", "communities", "group_sightings",
          "daily_activity", "daily_quiz")


def upgrade() -> None:
    op.execute("CREATE SEQUENCE fact_changes")
    op.execute("""CREATE FUNCTION tagging_fact_changed() RETURNS trigger AS $$
                  BEGIN PERFORM nextval('fact_changes'); RETURN NULL; END $$ LANGUAGE plpgsql""")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION tagging_fact_changed()")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
    op.execute("DROP FUNCTION tagging_fact_changed()")
    op.execute("DROP SEQUENCE fact_changes")
