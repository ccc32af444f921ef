"""Postings for every word, as the embedded backend's lexical indexes hold them: a text search
configuration `semsearch_english` with the `english` configuration's parser and Snowball stemmer
but no stop-word list. Searches then drop the same few function words as the embedded backend
does (index/words.py), and a query of nothing but such words still finds what holds them.

Chunks already stored gain the postings of the words `english` dropped (their other postings
are the same lexemes with the same frequencies); this reads every chunk's text once.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_POSTINGS = """
    INSERT INTO chunk_terms (collection, term, chunk_id, tf, length)
    SELECT c.collection, t.lexeme, c.id,
           (SELECT sum(CASE w WHEN 'A' THEN 2 ELSE 1 END) FROM unnest(t.weights) AS w),
           c.lexical_length
    FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.document_id,
         unnest(setweight(to_tsvector('{config}', coalesce(d.title, '')), 'A')
                || setweight(to_tsvector('{config}',
                             substr(d.text, c.char_start + 1, c.char_end - c.char_start)), 'B')
         ) AS t
"""


def upgrade() -> None:
    op.execute(
        "CREATE TEXT SEARCH DICTIONARY semsearch_english_stem"
        " (TEMPLATE = snowball, Language = english)"
    )
    op.execute("CREATE TEXT SEARCH CONFIGURATION semsearch_english (COPY = english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION semsearch_english"
        " ALTER MAPPING REPLACE english_stem WITH semsearch_english_stem"
    )
    op.execute(_POSTINGS.format(config="semsearch_english") + " ON CONFLICT DO NOTHING")


def downgrade() -> None:
    op.execute("DELETE FROM chunk_terms")
    op.execute(_POSTINGS.format(config="english"))
    op.execute("DROP TEXT SEARCH CONFIGURATION semsearch_english")
    op.execute("DROP TEXT SEARCH DICTIONARY semsearch_english_stem")
