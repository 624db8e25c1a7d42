"""Fast bulk writes that bypass the ORM's per-row work.

- ``RowInserter``: many new rows of one model, with ``COPY … FROM STDIN`` on PostgreSQL and
  one prepared ``INSERT`` (``executemany``) on SQLite.
- ``bulk_update_rows``: stage rows in a temporary table, then one ``UPDATE … FROM``.
  Django's ``bulk_update`` builds a CASE expression per field per batch, which grows
  quadratically with the batch; this path stays linear on SQLite (≥ 3.33) and PostgreSQL.

Both run on the current connection, so they belong to the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from django.db import connection, models

# COPY on PostgreSQL; tests switch it off to compare against the INSERT path.
USE_COPY = True


def copy_available() -> bool:
    """Whether bulk writes go through COPY (PostgreSQL with psycopg 3)."""
    if not USE_COPY or connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _copy_rows(cursor, sql: str, rows: Iterable[tuple]) -> None:
    """Stream ``rows`` through ``COPY … FROM STDIN`` (text format: psycopg escapes tabs,
    newlines and backslashes). Errors surface as Django's database exceptions."""
    with connection.wrap_database_errors, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


class RowInserter:
    """Insert many rows of one model, given as plain tuples of the fields named in ``given``.

    ``bulk_create`` builds a model instance and prepares every value through the ORM, which
    dominated import time; this sends plain tuples. Fields not given get their defaults.
    Values are given as the database expects them (foreign keys as ids); JSON fields take
    Python values.
    """

    def __init__(self, model: type[models.Model], given: Sequence[str]):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        by_name = {f.name: f for f in fields}
        self.given = [by_name[name] for name in given]
        self.defaults = [f for f in fields if f.name not in given]
        self.default_values = tuple(
            f.get_db_prep_save(f.get_default(), connection) for f in self.defaults
        )
        self.json_positions = [
            i for i, f in enumerate(self.given) if f.get_internal_type() == "JSONField"
        ]
        self.use_copy = copy_available()
        quote = connection.ops.quote_name
        self.table = model._meta.db_table
        self.pk_column = model._meta.pk.column
        columns = [quote(f.column) for f in self.given + self.defaults]
        marks = ", ".join(["%s"] * len(columns))
        self.insert_sql = f"INSERT INTO {quote(self.table)} ({', '.join(columns)}) VALUES ({marks})"
        self.copy_sql = f"COPY {quote(self.table)} ({', '.join(columns)}) FROM STDIN"
        self.copy_with_ids_sql = (
            f"COPY {quote(self.table)} ({quote(self.pk_column)}, {', '.join(columns)}) FROM STDIN"
        )

    def _prepared(self, rows: Iterable[tuple]) -> list[tuple]:
        adapt_json = connection.ops.adapt_json_value
        prepared = []
        for row in rows:
            values = list(row)
            for position in self.json_positions:
                values[position] = adapt_json(values[position], self.given[position].encoder)
            prepared.append(tuple(values) + self.default_values)
        return prepared

    def insert(self, rows: Iterable[tuple], *, return_ids: bool = False) -> list[int] | None:
        """Insert ``rows``. With ``return_ids`` on the COPY path, return the new ids in row
        order (taken from the table's sequence before the COPY, so each is known up front);
        otherwise return None and the caller reads the ids back if it needs them."""
        prepared = self._prepared(rows)
        if not prepared:
            return [] if return_ids and self.use_copy else None
        with connection.cursor() as cursor:
            if not self.use_copy:
                cursor.executemany(self.insert_sql, prepared)
                return None
            if not return_ids:
                _copy_rows(cursor, self.copy_sql, prepared)
                return None
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [self.table, self.pk_column, len(prepared)],
            )
            ids = sorted(row[0] for row in cursor.fetchall())
            _copy_rows(
                cursor,
                self.copy_with_ids_sql,
                ((new_id, *row) for new_id, row in zip(ids, prepared, strict=True)),
            )
            return ids


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
    insert_sql = f"INSERT INTO {stage} ({pk}, {', '.join(names)}) VALUES ({placeholders})"
    copy_sql = f"COPY {stage} ({pk}, {', '.join(names)}) FROM STDIN"
    use_copy = copy_available()
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
            if use_copy:
                _copy_rows(cursor, copy_sql, prepared)
            else:
                cursor.executemany(insert_sql, prepared)
            count += len(batch)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {stage} AS s WHERE {table}.{pk} = s.{pk}"
        )
        cursor.execute(f"DROP TABLE {stage}")
    return count
