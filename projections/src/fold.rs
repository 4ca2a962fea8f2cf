//! Folding a batch of events into one change per row.
//!
//! In bulk mode (rebuilds, the async runner) only the final state of each row after a batch
//! matters: a session created, refreshed twice and revoked within one batch writes nothing.
//! Folding is what lets a replay write a few multi-row statements per batch instead of one
//! statement per event. The fold gives the same rows as applying the events one by one.

use std::collections::BTreeMap;

/// A row as inserted, which later changes of the same batch can amend.
pub(crate) trait NewRow {
    type Patch: Patch;
    fn amend(&mut self, patch: Self::Patch);
}

/// Changes to an existing row; a later patch of the same row is merged into an earlier one.
pub(crate) trait Patch {
    fn then(&mut self, later: Self);
}

/// What a batch does to one row.
pub(crate) enum RowChange<R: NewRow> {
    /// The batch created the row (later changes already amended into it).
    Insert(R),
    /// The row, if it exists, gets these changes.
    Update(R::Patch),
    /// The row, if it exists, is removed.
    Delete,
    /// The row is removed, then created again with these values.
    Replace(R),
    /// The batch created and removed the row: nothing to write.
    Nothing,
}

/// The changes of a batch to one table, by primary key. Ordered by key, so concurrent
/// writers touch rows in the same order.
pub(crate) struct Changes<R: NewRow> {
    table: &'static str,
    by_key: BTreeMap<String, RowChange<R>>,
}

impl<R: NewRow> Changes<R>
where
    R::Patch: Clone,
{
    pub(crate) fn new(table: &'static str) -> Self {
        Self {
            table,
            by_key: BTreeMap::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// A row is created. Creating a row the batch already holds is what a plain INSERT
    /// would refuse, so it is refused here too.
    pub(crate) fn insert(&mut self, key: &str, row: R) -> Result<(), sqlx::Error> {
        let Some(change) = self.by_key.get_mut(key) else {
            self.by_key.insert(key.to_owned(), RowChange::Insert(row));
            return Ok(());
        };
        *change = match change {
            RowChange::Delete => RowChange::Replace(row),
            RowChange::Nothing => RowChange::Insert(row),
            RowChange::Insert(_) | RowChange::Replace(_) | RowChange::Update(_) => {
                return Err(sqlx::Error::Protocol(format!(
                    "{}: row {key} is created twice (or created after a change) in one batch",
                    self.table
                )))
            }
        };
        Ok(())
    }

    /// A row changes; a change to a row that does not exist does nothing, as UPDATE would.
    pub(crate) fn update(&mut self, key: &str, patch: R::Patch) {
        let Some(change) = self.by_key.get_mut(key) else {
            self.by_key.insert(key.to_owned(), RowChange::Update(patch));
            return;
        };
        match change {
            RowChange::Insert(row) | RowChange::Replace(row) => row.amend(patch),
            RowChange::Update(earlier) => earlier.then(patch),
            RowChange::Delete | RowChange::Nothing => {}
        }
    }

    /// A row is removed.
    pub(crate) fn delete(&mut self, key: &str) {
        let Some(change) = self.by_key.get_mut(key) else {
            self.by_key.insert(key.to_owned(), RowChange::Delete);
            return;
        };
        *change = match change {
            RowChange::Insert(_) | RowChange::Nothing => RowChange::Nothing,
            RowChange::Update(_) | RowChange::Delete | RowChange::Replace(_) => RowChange::Delete,
        };
    }

    /// Splits the folded changes into the keys to delete, the patches to apply and the rows
    /// to insert, written in that order.
    pub(crate) fn into_parts(self) -> Parts<R> {
        let mut parts = Parts {
            deletes: Vec::new(),
            updates: Vec::new(),
            inserts: Vec::new(),
        };
        for (key, change) in self.by_key {
            match change {
                RowChange::Insert(row) => parts.inserts.push((key, row)),
                RowChange::Update(patch) => parts.updates.push((key, patch)),
                RowChange::Delete => parts.deletes.push(key),
                RowChange::Replace(row) => {
                    parts.deletes.push(key.clone());
                    parts.inserts.push((key, row));
                }
                RowChange::Nothing => {}
            }
        }
        parts
    }
}

/// The statements a folded batch needs, by kind.
pub(crate) struct Parts<R: NewRow> {
    pub(crate) deletes: Vec<String>,
    pub(crate) updates: Vec<(String, R::Patch)>,
    pub(crate) inserts: Vec<(String, R)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Row(i64);
    #[derive(Debug, Clone, PartialEq)]
    struct Set(i64);

    impl NewRow for Row {
        type Patch = Set;
        fn amend(&mut self, patch: Set) {
            self.0 = patch.0;
        }
    }

    impl Patch for Set {
        fn then(&mut self, later: Self) {
            *self = later;
        }
    }

    #[test]
    fn a_row_created_changed_and_removed_in_one_batch_writes_nothing() {
        let mut changes = Changes::<Row>::new("t");
        changes.insert("a", Row(1)).unwrap();
        changes.update("a", Set(2));
        changes.delete("a");
        let parts = changes.into_parts();
        assert!(parts.deletes.is_empty() && parts.updates.is_empty() && parts.inserts.is_empty());
    }

    #[test]
    fn changes_fold_into_the_final_state_of_each_row() {
        let mut changes = Changes::<Row>::new("t");
        changes.insert("new", Row(1)).unwrap();
        changes.update("new", Set(5));
        changes.update("old", Set(2));
        changes.update("old", Set(3));
        changes.delete("gone");
        changes.update("gone", Set(9));
        changes.delete("again");
        changes.insert("again", Row(7)).unwrap();
        let parts = changes.into_parts();
        assert_eq!(parts.deletes, ["again", "gone"]);
        assert_eq!(parts.updates, [("old".to_owned(), Set(3))]);
        assert_eq!(
            parts.inserts,
            [("again".to_owned(), Row(7)), ("new".to_owned(), Row(5))]
        );
    }

    #[test]
    fn creating_a_row_twice_is_refused_as_insert_would() {
        let mut changes = Changes::<Row>::new("t");
        changes.insert("a", Row(1)).unwrap();
        assert!(changes.insert("a", Row(2)).is_err());
    }
}
