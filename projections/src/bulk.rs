//! Multi-row writes on either backend: a handful of statements per batch, whatever its size.
//!
//! Values travel column by column. PostgreSQL gets one array per column and `UNNEST`s them,
//! so the statement text never depends on the row count (one prepared statement for every
//! batch). SQLite gets multi-row `VALUES` lists in chunks; a full chunk and a single row (the
//! inline path) keep their prepared statements, other sizes are prepared once and dropped.

use authlog_eventstore::Tx;

/// SQLite rows per statement. Its limit is 32,766 bound values; the widest table has ten
/// columns.
const SQLITE_CHUNK_ROWS: usize = 500;

/// One column of a multi-row statement.
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) values: Values,
}

/// The values of a column, typed as the tables store them.
pub(crate) enum Values {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Column {
    pub(crate) fn text(name: &'static str, values: impl Iterator<Item = Option<String>>) -> Self {
        Self {
            name,
            values: Values::Text(values.collect()),
        }
    }

    pub(crate) fn int(name: &'static str, values: impl Iterator<Item = Option<i64>>) -> Self {
        Self {
            name,
            values: Values::Int(values.collect()),
        }
    }

    pub(crate) fn bool(name: &'static str, values: impl Iterator<Item = Option<bool>>) -> Self {
        Self {
            name,
            values: Values::Bool(values.collect()),
        }
    }

    fn len(&self) -> usize {
        match &self.values {
            Values::Text(values) => values.len(),
            Values::Int(values) => values.len(),
            Values::Bool(values) => values.len(),
        }
    }

    fn postgres_array_type(&self) -> &'static str {
        match self.values {
            Values::Text(_) => "text[]",
            Values::Int(_) => "bigint[]",
            Values::Bool(_) => "boolean[]",
        }
    }
}

/// `INSERT INTO table (columns...)` every row.
pub(crate) async fn insert(
    tx: &mut Tx,
    table: &str,
    columns: &[Column],
) -> Result<(), sqlx::Error> {
    let rows = row_count(columns);
    if rows == 0 {
        return Ok(());
    }
    let names = column_names(columns);
    match tx {
        Tx::Postgres(transaction) => {
            let sql = format!(
                "INSERT INTO {table} ({names}) SELECT * FROM UNNEST({})",
                unnest_arguments(columns)
            );
            bind_arrays(sqlx::query(&sql), columns)
                .execute(&mut **transaction)
                .await?;
        }
        Tx::Sqlite(transaction) => {
            for start in (0..rows).step_by(SQLITE_CHUNK_ROWS) {
                let end = rows.min(start + SQLITE_CHUNK_ROWS);
                let sql = format!(
                    "INSERT INTO {table} ({names}) VALUES {}",
                    values_list(end - start, columns.len())
                );
                bind_rows(sqlite_query(&sql, end - start), columns, start..end)
                    .execute(&mut **transaction)
                    .await?;
            }
        }
    }
    Ok(())
}

/// `UPDATE table AS t SET ... FROM (the rows) AS u WHERE t.key = u.key`, where the first
/// column is the key and `set` pairs each updated column with an expression over `t` (the
/// row as it is) and `u` (the values given).
pub(crate) async fn update(
    tx: &mut Tx,
    table: &str,
    columns: &[Column],
    set: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    let rows = row_count(columns);
    if rows == 0 {
        return Ok(());
    }
    let key = columns[0].name;
    let assignments = set
        .iter()
        .map(|(column, expression)| format!("{column} = {expression}"))
        .collect::<Vec<_>>()
        .join(", ");
    let names = column_names(columns);
    match tx {
        Tx::Postgres(transaction) => {
            let sql = format!(
                "UPDATE {table} AS t SET {assignments}
                 FROM UNNEST({}) AS u({names}) WHERE t.{key} = u.{key}",
                unnest_arguments(columns)
            );
            bind_arrays(sqlx::query(&sql), columns)
                .execute(&mut **transaction)
                .await?;
        }
        Tx::Sqlite(transaction) => {
            for start in (0..rows).step_by(SQLITE_CHUNK_ROWS) {
                let end = rows.min(start + SQLITE_CHUNK_ROWS);
                let sql = format!(
                    "WITH u({names}) AS (VALUES {}) UPDATE {table} AS t SET {assignments}
                     FROM u WHERE t.{key} = u.{key}",
                    values_list(end - start, columns.len())
                );
                bind_rows(sqlite_query(&sql, end - start), columns, start..end)
                    .execute(&mut **transaction)
                    .await?;
            }
        }
    }
    Ok(())
}

/// `DELETE FROM table WHERE key IN (keys)`.
pub(crate) async fn delete(
    tx: &mut Tx,
    table: &str,
    key: &str,
    keys: &[String],
) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Postgres(transaction) => {
            sqlx::query(&format!("DELETE FROM {table} WHERE {key} = ANY($1)"))
                .bind(keys)
                .execute(&mut **transaction)
                .await?;
        }
        Tx::Sqlite(transaction) => {
            for chunk in keys.chunks(SQLITE_CHUNK_ROWS) {
                let placeholders = vec!["?"; chunk.len()].join(", ");
                let sql = format!("DELETE FROM {table} WHERE {key} IN ({placeholders})");
                let mut query = sqlite_query(&sql, chunk.len());
                for key in chunk {
                    query = query.bind(key.as_str());
                }
                query.execute(&mut **transaction).await?;
            }
        }
    }
    Ok(())
}

fn row_count(columns: &[Column]) -> usize {
    let rows = columns.first().map_or(0, Column::len);
    debug_assert!(columns.iter().all(|column| column.len() == rows));
    rows
}

fn column_names(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|column| column.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$1::text[], $2::bigint[], ...`
fn unnest_arguments(columns: &[Column]) -> String {
    columns
        .iter()
        .enumerate()
        .map(|(index, column)| format!("${}::{}", index + 1, column.postgres_array_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(?, ?), (?, ?), ...`: `rows` tuples of `width` placeholders.
fn values_list(rows: usize, width: usize) -> String {
    let tuple = format!("({})", vec!["?"; width].join(", "));
    vec![tuple; rows].join(", ")
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Keeps the prepared statement only for the sizes that recur: a full chunk and one row.
fn sqlite_query(sql: &str, rows: usize) -> SqliteQuery<'_> {
    sqlx::query(sql).persistent(rows == SQLITE_CHUNK_ROWS || rows == 1)
}

fn bind_arrays<'q>(mut query: PgQuery<'q>, columns: &'q [Column]) -> PgQuery<'q> {
    for column in columns {
        query = match &column.values {
            Values::Text(values) => query.bind(values.as_slice()),
            Values::Int(values) => query.bind(values.as_slice()),
            Values::Bool(values) => query.bind(values.as_slice()),
        };
    }
    query
}

fn bind_rows<'q>(
    mut query: SqliteQuery<'q>,
    columns: &'q [Column],
    rows: std::ops::Range<usize>,
) -> SqliteQuery<'q> {
    for row in rows {
        for column in columns {
            query = match &column.values {
                Values::Text(values) => query.bind(values[row].as_deref()),
                Values::Int(values) => query.bind(values[row]),
                Values::Bool(values) => query.bind(values[row]),
            };
        }
    }
    query
}
