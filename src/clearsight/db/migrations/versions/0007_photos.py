"""Photo library: photos, faces (templates encrypted), people, naming consents (issue 18)

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("orientation", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_photos_path", "photos", ["path"])
    op.create_index("ix_photos_taken_at", "photos", ["taken_at"])
    op.create_table(
        "photo_people",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_photo_people_name", "photo_people", ["name"])
    op.create_table(
        "photo_faces",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("photo_id", BigId, sa.ForeignKey("photos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("photo_people.id"), nullable=False),
        *(sa.Column(c, sa.Float(), nullable=False) for c in ("x1", "y1", "x2", "y2", "score")),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
    )
    for col in ("photo_id", "person_id", "model", "key_id"):
        op.create_index(f"ix_photo_faces_{col}", "photo_faces", [col])
    op.create_table(
        "photo_consents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("photo_people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("legal_basis", sa.String(128), nullable=False),
        sa.Column("granted_by", sa.String(255), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(255), nullable=True),
    )
    op.create_index("ix_photo_consents_person_id", "photo_consents", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_photo_consents_person_id", "photo_consents")
    op.drop_table("photo_consents")
    for col in ("photo_id", "person_id", "model", "key_id"):
        op.drop_index(f"ix_photo_faces_{col}", "photo_faces")
    op.drop_table("photo_faces")
    op.drop_index("ix_photo_people_name", "photo_people")
    op.drop_table("photo_people")
    op.drop_index("ix_photos_taken_at", "photos")
    op.drop_index("ix_photos_path", "photos")
    op.drop_table("photos")
