"""channels referrals communities

Revision ID: a051d486ff0c
Revises: 2f0b2f9f4ffa
Create Date: 2026-11-23 10:41:36.221436
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a051d486ff0c'
down_revision: str | None = '2f0b2f9f4ffa'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channels',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('qr_kind', sa.Text(), nullable=False),
    sa.Column('qr_ticket', sa.Text(), nullable=True),
    sa.Column('qr_url', sa.Text(), nullable=True),
    sa.Column('qr_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mp_page', sa.Text(), server_default='', nullable=False),
    sa.Column('wxacode_png', sa.LargeBinary(), nullable=True),
    sa.Column('created_by_staff_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('code', name=op.f('uq_channels_code'))
    )
    op.create_table('channel_touches',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('member_no', sa.BigInteger(), nullable=True),
    sa.Column('openid', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_channel_touches_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_touches'))
    )
    op.create_index('ix_channel_touches_channel_kind', 'channel_touches', ['channel_id', 'kind'], unique=False)
    op.create_table('member_channels',
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.Column('scene', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('touched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_member_channels_channel_id_channels')),
    sa.PrimaryKeyConstraint('member_no', name=op.f('pk_member_channels'))
    )
    op.create_index(op.f('ix_member_channels_channel_id'), 'member_channels', ['channel_id'], unique=False)
    op.create_table('communities',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('open_gid', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('period_id', sa.BigInteger(), nullable=True),
    sa.Column('proposed_period_id', sa.BigInteger(), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_communities_period_id_periods')),
    sa.ForeignKeyConstraint(['proposed_period_id'], ['periods.id'], name=op.f('fk_communities_proposed_period_id_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communities')),
    sa.UniqueConstraint('open_gid', name=op.f('uq_communities_open_gid'))
    )
    op.create_index(op.f('ix_communities_period_id'), 'communities', ['period_id'], unique=False)
    op.create_table('community_members',
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sightings', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_members_community_id_communities')),
    sa.PrimaryKeyConstraint('community_id', 'member_no', name=op.f('pk_community_members'))
    )
    op.create_index(op.f('ix_community_members_member_no'), 'community_members', ['member_no'], unique=False)
    op.create_table('community_sightings',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('period_id', sa.BigInteger(), nullable=True),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_sightings_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_sightings'))
    )
    op.create_index('ix_community_sightings_community_seen', 'community_sightings', ['community_id', 'seen_at'], unique=False)
    op.create_table('referrals',
    sa.Column('invitee_member_no', sa.BigInteger(), nullable=False),
    sa.Column('inviter_member_no', sa.BigInteger(), nullable=False),
    sa.Column('invite_code', sa.Text(), nullable=False),
    sa.Column('registration_id', sa.BigInteger(), nullable=False),
    sa.Column('period_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('credited_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_referrals_period_id_periods')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_referrals_registration_id_registrations')),
    sa.PrimaryKeyConstraint('invitee_member_no', name=op.f('pk_referrals'))
    )
    op.create_index(op.f('ix_referrals_inviter_member_no'), 'referrals', ['inviter_member_no'], unique=False)
    op.create_index(op.f('ix_referrals_registration_id'), 'referrals', ['registration_id'], unique=False)
    op.add_column('registrations', sa.Column('channel_id', sa.BigInteger(), nullable=True))
    op.create_index(op.f('ix_registrations_channel_id'), 'registrations', ['channel_id'], unique=False)
    op.create_foreign_key(op.f('fk_registrations_channel_id_channels'), 'registrations', 'channels', ['channel_id'], ['id'])


def downgrade() -> None:
    op.drop_constraint(op.f('fk_registrations_channel_id_channels'), 'registrations', type_='foreignkey')
    op.drop_index(op.f('ix_registrations_channel_id'), table_name='registrations')
    op.drop_column('registrations', 'channel_id')
    op.drop_index(op.f('ix_referrals_registration_id'), table_name='referrals')
    op.drop_index(op.f('ix_referrals_inviter_member_no'), table_name='referrals')
    op.drop_table('referrals')
    op.drop_index('ix_community_sightings_community_seen', table_name='community_sightings')
    op.drop_table('community_sightings')
    op.drop_index(op.f('ix_community_members_member_no'), table_name='community_members')
    op.drop_table('community_members')
    op.drop_index(op.f('ix_communities_period_id'), table_name='communities')
    op.drop_table('communities')
    op.drop_index(op.f('ix_member_channels_channel_id'), table_name='member_channels')
    op.drop_table('member_channels')
    op.drop_index('ix_channel_touches_channel_kind', table_name='channel_touches')
    op.drop_table('channel_touches')
    op.drop_table('channels')
