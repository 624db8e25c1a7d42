"""Fast bulk updates: stage rows in a temporary table, then one UPDATE … FROM.

Django's ``bulk_update`` builds a CASE expression per field per batch, which grows
quadratically with the batch; this path stays linear on SQLite (≥ 3.33) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from django.db import connection, models


def bulk_update_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[tuple],
    *,
    batch_size: int = 5000,
) -> int:
    """Update ``fields`` of ``model`` from ``rows`` of ``(pk, value1, value2, …)``.

    Values are given as the database expects them (foreign keys as ids). Returns the
    number of rows staged. Call inside a transaction for atomicity.
    """
    opts = model._meta
    table = connection.ops.quote_name(opts.db_table)
    pk = connection.ops.quote_name(opts.pk.column)
    columns = [opts.get_field(f) for f in fields]
    names = [connection.ops.quote_name(c.column) for c in columns]
    stage = connection.ops.quote_name(f"_stage_{opts.db_table}")
    staged_types = ", ".join(
        f"{name} {column.db_type(connection) or 'text'}"
        for name, column in zip(names, columns, strict=True)
    )
    staged_types = staged_types.replace("AUTOINCREMENT", "").replace("serial", "integer")
    placeholders = ", ".join(["%s"] * (len(fields) + 1))
    assignments = ", ".join(f"{name} = s.{name}" for name in names)
    count = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} ({pk} bigint PRIMARY KEY, {staged_types})")
        iterator = iter(rows)
        while batch := list(islice(iterator, batch_size)):
            prepared = [
                (
                    row[0],
                    *(
                        c.get_db_prep_save(v, connection)
                        for c, v in zip(columns, row[1:], strict=True)
                    ),
                )
                for row in batch
            ]
            cursor.executemany(
                f"INSERT INTO {stage} ({pk}, {', '.join(names)}) VALUES ({placeholders})",
                prepared,
            )
            count += len(batch)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {stage} AS s WHERE {table}.{pk} = s.{pk}"
        )
        cursor.execute(f"DROP TABLE {stage}")
    return count
