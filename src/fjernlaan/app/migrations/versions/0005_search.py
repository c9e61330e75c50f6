"""catalogue search: folded search text, SQLite FTS5 or PostgreSQL full text

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-23 09:30:00

`record_search` is a plain table (it is in the models); what indexes it depends on the database:
SQLite gets the FTS5 table `record_fts` (external content = record_search, kept in step by
triggers); PostgreSQL gets a generated, weighted `tsv` column with a GIN index. Both index text that
`catalogue.model.fold` has already folded, with the 'simple' configuration / unicode61 tokenizer, so
matching is the same on both (see docs/decisions.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE record_fts USING fts5(title, creators, subjects, identifiers, "
    "content='record_search', content_rowid='record_pk', tokenize='unicode61 remove_diacritics 2')",
    # Title weighs most, then creators, subjects, identifiers (bm25 column weights).
    "INSERT INTO record_fts(record_fts, rank) VALUES('rank', 'bm25(10.0, 5.0, 2.0, 1.0)')",
    "CREATE TRIGGER record_search_ai AFTER INSERT ON record_search BEGIN "
    "INSERT INTO record_fts(rowid, title, creators, subjects, identifiers) "
    "VALUES (new.record_pk, new.title, new.creators, new.subjects, new.identifiers); END",
    "CREATE TRIGGER record_search_ad AFTER DELETE ON record_search BEGIN "
    "INSERT INTO record_fts(record_fts, rowid, title, creators, subjects, identifiers) "
    "VALUES ('delete', old.record_pk, old.title, old.creators, old.subjects, old.identifiers); END",
    "CREATE TRIGGER record_search_au AFTER UPDATE ON record_search BEGIN "
    "INSERT INTO record_fts(record_fts, rowid, title, creators, subjects, identifiers) "
    "VALUES ('delete', old.record_pk, old.title, old.creators, old.subjects, old.identifiers); "
    "INSERT INTO record_fts(rowid, title, creators, subjects, identifiers) "
    "VALUES (new.record_pk, new.title, new.creators, new.subjects, new.identifiers); END",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS record_search_au",
    "DROP TRIGGER IF EXISTS record_search_ad",
    "DROP TRIGGER IF EXISTS record_search_ai",
    "DROP TABLE IF EXISTS record_fts",
]
_POSTGRES_UP = [
    "ALTER TABLE record_search ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', title), 'A') || "
    "setweight(to_tsvector('simple', creators), 'B') || "
    "setweight(to_tsvector('simple', subjects), 'C') || "
    "setweight(to_tsvector('simple', identifiers), 'D')) STORED",
    "CREATE INDEX record_search_tsv ON record_search USING gin (tsv)",
]
_POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS record_search_tsv",
    "ALTER TABLE record_search DROP COLUMN IF EXISTS tsv",
]


def upgrade() -> None:
    op.create_table(
        "record_search",
        sa.Column("record_pk", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("creators", sa.Text(), nullable=False),
        sa.Column("subjects", sa.Text(), nullable=False),
        sa.Column("identifiers", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.id"], name=op.f("fk_record_search_record_pk_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_pk", name=op.f("pk_record_search")),
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_UP if dialect == "sqlite" else _POSTGRES_UP if dialect == "postgresql" else []:
        op.execute(statement)
    # Records stored before this revision get their search text now.
    _backfill()


def _backfill() -> None:
    from fjernlaan.catalogue.model import fold

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, record_id, title, subtitle, creators, subjects, isbns, issns, oclc_numbers FROM records"
        )
    ).all()
    search = sa.table(
        "record_search",
        sa.column("record_pk"),
        sa.column("title"),
        sa.column("creators"),
        sa.column("subjects"),
        sa.column("identifiers"),
    )
    values = []
    for pk, record_id, title, subtitle, creators, subjects, isbns, issns, oclc in rows:
        ids = [*isbns.split("\n"), *issns.replace("-", "").split("\n"), *oclc.split("\n"), record_id]
        values.append(
            {
                "record_pk": pk,
                "title": fold(" ".join(t for t in (title, subtitle) if t)),
                "creators": fold(" ; ".join(c for c in creators.split("\n") if c)),
                "subjects": fold(" ; ".join(s for s in subjects.split("\n") if s)),
                "identifiers": fold(" ".join(i for i in ids if i)),
            }
        )
    if values:
        op.bulk_insert(search, values)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in (
        _SQLITE_DOWN if dialect == "sqlite" else _POSTGRES_DOWN if dialect == "postgresql" else []
    ):
        op.execute(statement)
    op.drop_table("record_search")
