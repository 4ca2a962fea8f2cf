//! Row-for-row comparison of a live table with its rebuilt shadow, in SQL: a full outer join
//! on the primary key lists the keys whose rows are not the same on both sides (nothing when
//! the tables agree), and a few of those rows are read to show what differs.

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

/// Compares `live` with `shadow` on `table.columns` (the first is the primary key): one
/// join finds the keys that differ, then the sample's rows are read by key.
pub(crate) async fn compare(
    tx: &mut Tx,
    table: &Table,
    shadow: &str,
    sample_size: usize,
) -> Result<TableComparison, sqlx::Error> {
    let key = table.columns[0];
    let live = table.name;
    let distinct = match tx {
        Tx::Sqlite(_) => "IS NOT",
        Tx::Postgres(_) => "IS DISTINCT FROM",
    };
    let mut differs = vec![format!("l.{key} IS NULL"), format!("s.{key} IS NULL")];
    differs.extend(
        table.columns[1..]
            .iter()
            .map(|column| format!("l.{column} {distinct} s.{column}")),
    );
    let differences_sql = format!(
        "SELECT CASE WHEN l.{key} IS NULL THEN 2 WHEN s.{key} IS NULL THEN 1 ELSE 0 END,
                CAST(COALESCE(l.{key}, s.{key}) AS TEXT)
         FROM {live} l FULL OUTER JOIN {shadow} s ON l.{key} = s.{key}
         WHERE {}
         ORDER BY 2",
        differs.join(" OR ")
    );
    let values = table
        .columns
        .iter()
        .map(|column| format!("CAST({column} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ");
    let (live_rows, rebuilt_rows, differences) = with_tx!(tx, |conn| {
        let (live_rows,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {live}"))
            .fetch_one(&mut *conn)
            .await?;
        let (rebuilt_rows,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {shadow}"))
            .fetch_one(&mut *conn)
            .await?;
        let differences: Vec<(i32, String)> = sqlx::query_as(&differences_sql)
            .fetch_all(&mut *conn)
            .await?;
        (live_rows, rebuilt_rows, differences)
    });
    let count = |kind: i32| differences.iter().filter(|(k, _)| *k == kind).count() as i64;
    let (differing, only_live, only_rebuilt) = (count(0), count(1), count(2));
    let mut sample = Vec::new();
    for (_, sample_key) in differences.iter().take(sample_size) {
        let mut sides = Vec::new();
        for source in [live, shadow] {
            // By the key's text, whatever its type: a few scans, only when rows differ.
            let sql = format!("SELECT {values} FROM {source} WHERE CAST({key} AS TEXT) = $1");
            let row: Option<Vec<Option<String>>> = with_tx!(&mut *tx, |conn| {
                use sqlx::Row;
                match sqlx::query(&sql)
                    .bind(sample_key)
                    .fetch_optional(&mut *conn)
                    .await?
                {
                    Some(row) => Some(
                        (0..table.columns.len())
                            .map(|index| row.try_get::<Option<String>, _>(index))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    None => None,
                }
            });
            sides.push(row);
        }
        let rebuilt = sides.pop().flatten();
        let live_row = sides.pop().flatten();
        sample.push(difference(table, sample_key, live_row, rebuilt));
    }
    Ok(TableComparison {
        table: table.name,
        live_rows,
        rebuilt_rows,
        equal: live_rows - differing - only_live,
        differing,
        only_live,
        only_rebuilt,
        sample,
    })
}

/// A sampled row as a difference: for a row on both sides, the columns that differ.
fn difference(
    table: &Table,
    key: &str,
    live: Option<Vec<Option<String>>>,
    rebuilt: Option<Vec<Option<String>>>,
) -> RowDifference {
    let kind = match (&live, &rebuilt) {
        (Some(_), None) => DifferenceKind::OnlyLive,
        (None, Some(_)) => DifferenceKind::OnlyRebuilt,
        _ => DifferenceKind::Differs,
    };
    let value = |row: &Option<Vec<Option<String>>>, index: usize| {
        row.as_ref().and_then(|values| values[index].clone())
    };
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| ColumnDifference {
            column,
            live: value(&live, index),
            rebuilt: value(&rebuilt, index),
        })
        .filter(|column| kind != DifferenceKind::Differs || column.live != column.rebuilt)
        .collect();
    RowDifference {
        key: key.to_owned(),
        kind,
        columns,
    }
}
