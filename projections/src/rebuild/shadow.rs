//! Shadow tables: a copy of a live table's schema that a rebuild fills, then swaps in.
//!
//! The shadow starts with the live table's columns and primary key only. Secondary indexes
//! are built once the rows are in, which is much cheaper than maintaining them through a
//! replay that inserts and deletes hundreds of thousands of rows:
//! - PostgreSQL: `CREATE TABLE x_shadow (LIKE x INCLUDING ALL EXCLUDING INDEXES)` plus the
//!   primary key; after the replay, every other index (or index-backed constraint) of `x` is
//!   recreated on the shadow under a `_shadow` name, and the swap renames each back.
//! - SQLite: the `CREATE TABLE` text of `x` from `sqlite_master` under the shadow's name.
//!   SQLite cannot rename an index, so the swap creates `x`'s indexes, under their own names
//!   and from their own text, inside the swap transaction. Readers are not blocked by that
//!   (they read the previous snapshot until the commit); writers wait for it.
//!
//! Either way the swapped-in table has exactly the live table's schema and index names, so
//! later migrations that name an index keep working.

use authlog_eventstore::{with_tx, Db, Tx};

use crate::SHADOW_SUFFIX;

/// The shadow of one live table.
#[derive(Debug, Clone)]
pub(crate) struct ShadowTable {
    pub(crate) live: &'static str,
    pub(crate) shadow: String,
    /// PostgreSQL: shadow index names to rename to the live names at the swap. Constraint
    /// indexes are renamed through their constraint.
    renames: Vec<IndexRename>,
}

#[derive(Debug, Clone)]
struct IndexRename {
    shadow: String,
    live: String,
    is_constraint: bool,
}

impl ShadowTable {
    fn new(live: &'static str) -> Self {
        Self {
            live,
            shadow: format!("{live}{SHADOW_SUFFIX}"),
            renames: Vec::new(),
        }
    }
}

/// Drops any leftover shadow of `live` (an interrupted rebuild) and creates an empty one.
pub(crate) async fn create(db: &Db, live: &'static str) -> Result<ShadowTable, sqlx::Error> {
    let mut shadow = ShadowTable::new(live);
    let mut tx = db.begin().await?;
    drop_in(&mut tx, &shadow).await?;
    match &mut tx {
        Tx::Sqlite(transaction) => {
            let objects: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT type, sql FROM sqlite_master WHERE tbl_name = $1 AND type IN ('table', 'trigger')",
            )
            .bind(live)
            .fetch_all(&mut **transaction)
            .await?;
            let mut create_table = None;
            for (kind, sql) in objects {
                match kind.as_str() {
                    "table" => create_table = sql,
                    _ => {
                        return Err(schema_error(
                            live,
                            "it has triggers, which a swap would lose",
                        ))
                    }
                }
            }
            let create_table = create_table.ok_or_else(|| schema_error(live, "no such table"))?;
            let sql = rename_create_table(&create_table, &shadow.shadow).ok_or_else(|| {
                schema_error(live, "its CREATE TABLE statement was not understood")
            })?;
            sqlx::raw_sql(&sql).execute(&mut **transaction).await?;
        }
        Tx::Postgres(transaction) => {
            sqlx::raw_sql(&format!(
                "CREATE UNLOGGED TABLE {} (LIKE {live} INCLUDING ALL EXCLUDING INDEXES)",
                shadow.shadow
            ))
            .execute(&mut **transaction)
            .await?;
            let primary: Option<(String, String)> = sqlx::query_as(
                "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE conrelid = to_regclass($1) AND contype = 'p'",
            )
            .bind(live)
            .fetch_optional(&mut **transaction)
            .await?;
            let (name, definition) =
                primary.ok_or_else(|| schema_error(live, "it has no primary key"))?;
            let shadow_name = format!("{name}{SHADOW_SUFFIX}");
            sqlx::raw_sql(&format!(
                "ALTER TABLE {} ADD CONSTRAINT {shadow_name} {definition}",
                shadow.shadow
            ))
            .execute(&mut **transaction)
            .await?;
            shadow.renames.push(IndexRename {
                shadow: shadow_name,
                live: name,
                is_constraint: true,
            });
        }
    }
    tx.commit().await?;
    Ok(shadow)
}

/// PostgreSQL: recreates the live table's other indexes and index-backed constraints on
/// the shadow (SQLite builds them at the swap). Runs outside the swap, while the server
/// keeps serving: only the shadow is locked.
pub(crate) async fn build_indexes(db: &Db, shadow: &mut ShadowTable) -> Result<(), sqlx::Error> {
    let Db::Postgres(pool) = db else {
        return Ok(());
    };
    sqlx::raw_sql(&format!("ALTER TABLE {} SET LOGGED", shadow.shadow))
        .execute(pool)
        .await?;
    let indexes: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT index_class.relname::text, pg_get_indexdef(i.indexrelid),
                c.conname::text, pg_get_constraintdef(c.oid)
         FROM pg_index i
         JOIN pg_class index_class ON index_class.oid = i.indexrelid
         LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
         WHERE i.indrelid = to_regclass($1) AND NOT i.indisprimary
         ORDER BY 1",
    )
    .bind(shadow.live)
    .fetch_all(pool)
    .await?;
    for (index, index_definition, constraint, constraint_definition) in indexes {
        let (sql, rename) = match (constraint, constraint_definition) {
            (Some(constraint), Some(definition)) => (
                format!(
                    "ALTER TABLE {} ADD CONSTRAINT {constraint}{SHADOW_SUFFIX} {definition}",
                    shadow.shadow
                ),
                IndexRename {
                    shadow: format!("{constraint}{SHADOW_SUFFIX}"),
                    live: constraint,
                    is_constraint: true,
                },
            ),
            _ => {
                // pg_get_indexdef gives `CREATE [UNIQUE] INDEX name ON schema.table USING ...`.
                let (head, method) = index_definition.split_once(" USING ").ok_or_else(|| {
                    schema_error(shadow.live, "an index definition was not understood")
                })?;
                let unique = if head.starts_with("CREATE UNIQUE") {
                    "UNIQUE "
                } else {
                    ""
                };
                let shadow_index = format!("{index}{SHADOW_SUFFIX}");
                (
                    format!(
                        "CREATE {unique}INDEX {shadow_index} ON {} USING {method}",
                        shadow.shadow
                    ),
                    IndexRename {
                        shadow: shadow_index,
                        live: index,
                        is_constraint: false,
                    },
                )
            }
        };
        sqlx::raw_sql(&sql).execute(pool).await?;
        shadow.renames.push(rename);
    }
    Ok(())
}

/// Replaces the live table by the shadow, inside the caller's transaction (which holds the
/// write lock on the live table).
pub(crate) async fn swap(tx: &mut Tx, shadow: &ShadowTable) -> Result<(), sqlx::Error> {
    let live = shadow.live;
    match tx {
        Tx::Sqlite(transaction) => {
            let indexes: Vec<(String,)> = sqlx::query_as(
                "SELECT sql FROM sqlite_master WHERE tbl_name = $1 AND type = 'index' AND sql IS NOT NULL",
            )
            .bind(live)
            .fetch_all(&mut **transaction)
            .await?;
            let mut sql = format!(
                "DROP TABLE {live}; ALTER TABLE {} RENAME TO {live};",
                shadow.shadow
            );
            for (create_index,) in indexes {
                sql.push_str(&create_index);
                sql.push(';');
            }
            sqlx::raw_sql(&sql).execute(&mut **transaction).await?;
        }
        Tx::Postgres(transaction) => {
            let mut sql = format!(
                "DROP TABLE {live}; ALTER TABLE {} RENAME TO {live};",
                shadow.shadow
            );
            for rename in &shadow.renames {
                if rename.is_constraint {
                    sql.push_str(&format!(
                        "ALTER TABLE {live} RENAME CONSTRAINT {} TO {};",
                        rename.shadow, rename.live
                    ));
                } else {
                    sql.push_str(&format!(
                        "ALTER INDEX {} RENAME TO {};",
                        rename.shadow, rename.live
                    ));
                }
            }
            sqlx::raw_sql(&sql).execute(&mut **transaction).await?;
        }
    }
    Ok(())
}

/// Drops the shadow, inside the caller's transaction.
pub(crate) async fn drop_in(tx: &mut Tx, shadow: &ShadowTable) -> Result<(), sqlx::Error> {
    let sql = format!("DROP TABLE IF EXISTS {}", shadow.shadow);
    with_tx!(tx, |conn| {
        sqlx::raw_sql(&sql).execute(&mut *conn).await?;
    });
    Ok(())
}

/// Drops shadows left behind by a rebuild that failed, in a transaction of its own.
pub(crate) async fn drop_all(db: &Db, shadows: &[ShadowTable]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for shadow in shadows {
        drop_in(&mut tx, shadow).await?;
    }
    tx.commit().await
}

fn schema_error(table: &str, reason: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("cannot make a shadow of table {table}: {reason}"))
}

/// `CREATE TABLE [IF NOT EXISTS] <name> <rest>` with `<name>` replaced by `new_name`. The
/// name may be bare or quoted ("..", `..`, [..]), as SQLite keeps whatever was written (and
/// writes `"name"` itself after a rename).
fn rename_create_table(sql: &str, new_name: &str) -> Option<String> {
    let mut rest = sql.trim_start();
    for keyword in ["CREATE", "TABLE"] {
        rest = strip_keyword(rest, keyword)?;
    }
    if let Some(after_if) = strip_keyword(rest, "IF") {
        rest = strip_keyword(strip_keyword(after_if, "NOT")?, "EXISTS")?;
    }
    let name_end = match rest.chars().next()? {
        '"' => rest[1..].find('"')? + 2,
        '`' => rest[1..].find('`')? + 2,
        '[' => rest.find(']')? + 1,
        _ => rest.find(|c: char| c.is_whitespace() || c == '(')?,
    };
    Some(format!(
        "CREATE TABLE \"{new_name}\" {}",
        rest[name_end..].trim_start()
    ))
}

/// `text` without a leading case-insensitive `keyword` and the whitespace after it.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    let rest = &text[keyword.len()..];
    (head.eq_ignore_ascii_case(keyword)
        && rest.starts_with(|c: char| c.is_whitespace() || c == '"' || c == '`' || c == '['))
    .then(|| rest.trim_start())
}

#[cfg(test)]
mod tests {
    use super::rename_create_table;

    #[test]
    fn create_table_statements_are_renamed_whatever_the_quoting() {
        let renamed = |sql| rename_create_table(sql, "sessions_shadow").unwrap();
        assert_eq!(
            renamed("CREATE TABLE sessions (\n  id TEXT PRIMARY KEY\n)"),
            "CREATE TABLE \"sessions_shadow\" (\n  id TEXT PRIMARY KEY\n)"
        );
        assert_eq!(
            renamed("CREATE TABLE \"sessions\" (id TEXT)"),
            "CREATE TABLE \"sessions_shadow\" (id TEXT)"
        );
        assert_eq!(
            renamed("create table if not exists [sessions](id TEXT)"),
            "CREATE TABLE \"sessions_shadow\" (id TEXT)"
        );
        assert_eq!(rename_create_table("CREATE VIEW v AS SELECT 1", "x"), None);
    }
}
