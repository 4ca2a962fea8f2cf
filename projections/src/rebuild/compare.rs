//! Row-for-row comparison of a live table with its rebuilt shadow, in SQL: a full outer join
//! on the primary key counts what is equal and what is not, and a second pass fetches a few
//! differences to show. Nothing is loaded into memory but the sample.

use authlog_eventstore::{with_tx, Tx};
use serde::Serialize;

use crate::Table;

/// How a live table and its rebuilt shadow compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableComparison {
    pub table: &'static str,
    pub live_rows: i64,
    pub rebuilt_rows: i64,
    /// Rows present in both with every compared column equal.
    pub equal: i64,
    /// Rows present in both that differ in at least one column.
    pub differing: i64,
    /// Rows only the live table has.
    pub only_live: i64,
    /// Rows only the rebuilt table has.
    pub only_rebuilt: i64,
    /// The first differences by primary key.
    pub sample: Vec<RowDifference>,
}

impl TableComparison {
    pub fn is_identical(&self) -> bool {
        self.differing == 0 && self.only_live == 0 && self.only_rebuilt == 0
    }
}

/// One row that is not the same in both tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowDifference {
    pub key: String,
    pub kind: DifferenceKind,
    /// The columns that differ (every column for a row on one side only), as text.
    pub columns: Vec<ColumnDifference>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    Differs,
    OnlyLive,
    OnlyRebuilt,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDifference {
    pub column: &'static str,
    pub live: Option<String>,
    pub rebuilt: Option<String>,
}

/// Compares `live` with `shadow` on `table.columns` (the first is the primary key).
pub(crate) async fn compare(
    tx: &mut Tx,
    table: &Table,
    shadow: &str,
    sample_size: i64,
) -> Result<TableComparison, sqlx::Error> {
    let key = table.columns[0];
    let distinct = match tx {
        Tx::Sqlite(_) => "IS NOT",
        Tx::Postgres(_) => "IS DISTINCT FROM",
    };
    let differs = table.columns[1..]
        .iter()
        .map(|column| format!("l.{column} {distinct} s.{column}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let differs = if differs.is_empty() {
        "1 = 0".to_owned()
    } else {
        format!("({differs})")
    };
    let join = format!(
        "FROM {live} l FULL OUTER JOIN {shadow} s ON l.{key} = s.{key}",
        live = table.name
    );
    let count =
        |condition: &str| format!("COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)");
    let both = format!("l.{key} IS NOT NULL AND s.{key} IS NOT NULL");
    let counts_sql = format!(
        "SELECT {}, {}, {}, {}, {}, {} {join}",
        count(&format!("l.{key} IS NOT NULL")),
        count(&format!("s.{key} IS NOT NULL")),
        count(&format!("{both} AND NOT {differs}")),
        count(&format!("{both} AND {differs}")),
        count(&format!("s.{key} IS NULL")),
        count(&format!("l.{key} IS NULL")),
    );
    let values = table
        .columns
        .iter()
        .map(|column| format!("CAST(l.{column} AS TEXT), CAST(s.{column} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ");
    let sample_sql = format!(
        "SELECT {values} {join}
         WHERE l.{key} IS NULL OR s.{key} IS NULL OR {differs}
         ORDER BY COALESCE(l.{key}, s.{key}) LIMIT {sample_size}"
    );
    let (counts, rows): ((i64, i64, i64, i64, i64, i64), Vec<Vec<Option<String>>>) =
        with_tx!(tx, |conn| {
            use sqlx::Row;
            let counts = sqlx::query_as(&counts_sql).fetch_one(&mut *conn).await?;
            let mut rows = Vec::new();
            for row in sqlx::query(&sample_sql).fetch_all(&mut *conn).await? {
                let mut values = Vec::with_capacity(table.columns.len() * 2);
                for index in 0..table.columns.len() * 2 {
                    values.push(row.try_get::<Option<String>, _>(index)?);
                }
                rows.push(values);
            }
            (counts, rows)
        });
    let (live_rows, rebuilt_rows, equal, differing, only_live, only_rebuilt) = counts;
    Ok(TableComparison {
        table: table.name,
        live_rows,
        rebuilt_rows,
        equal,
        differing,
        only_live,
        only_rebuilt,
        sample: rows
            .into_iter()
            .map(|values| difference(table, values))
            .collect(),
    })
}

/// A sample row (live and rebuilt value of each column, side by side) as a difference.
fn difference(table: &Table, values: Vec<Option<String>>) -> RowDifference {
    let (live_key, rebuilt_key) = (&values[0], &values[1]);
    let kind = match (live_key, rebuilt_key) {
        (Some(_), None) => DifferenceKind::OnlyLive,
        (None, Some(_)) => DifferenceKind::OnlyRebuilt,
        _ => DifferenceKind::Differs,
    };
    let key = live_key
        .clone()
        .or_else(|| rebuilt_key.clone())
        .unwrap_or_default();
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| ColumnDifference {
            column,
            live: values[2 * index].clone(),
            rebuilt: values[2 * index + 1].clone(),
        })
        .filter(|column| kind != DifferenceKind::Differs || column.live != column.rebuilt)
        .collect();
    RowDifference { key, kind, columns }
}
