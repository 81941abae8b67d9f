"""Users, roles, API tokens, sessions and failed logins of the REST API and web UI, and who
did what in the event log.

``users`` (Argon2id password hashes), ``roles`` (those an admin made; the built-in admin, op
and viewer have no row), ``api_tokens`` and ``sessions`` (SHA-256 hashes of their secrets,
deleted with their user), ``login_failures`` (the login rate limit) and ``events.actor``
(a username, ``cli:<OS user>``, or null for what the scheduler did). See
``docs/security.md`` and :mod:`headwater.services.users`.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # the longest id (dag, run, task, pool, key): headwater.db.models.ID_LENGTH


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["username"], ["users.username"], name=f"fk_{table}_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(ID), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(ID), nullable=False),
        _when("created_at"),
        _when("last_login_at", nullable=True),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_users"),
    )
    op.create_table(
        "roles",
        sa.Column("name", sa.String(ID), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("dag_tags", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_roles"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(ID), nullable=False),
        sa.Column("username", sa.String(ID), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        _when("created_at"),
        _when("last_used_at", nullable=True),
        _when("expires_at", nullable=True),
        _when("revoked_at", nullable=True),
        _user_fk("api_tokens"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_username", "api_tokens", ["username"])
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("username", sa.String(ID), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        _user_fk("sessions"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_sessions"),
    )
    op.create_index("ix_sessions_username", "sessions", ["username"])
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _when("first_at"),
        _when("locked_until", nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_login_failures"),
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("actor", sa.String(ID), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("actor")
    op.drop_table("login_failures")
    op.drop_index("ix_sessions_username", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_api_tokens_username", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("roles")
    op.drop_table("users")
