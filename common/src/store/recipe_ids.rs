//! Recipe ids: a recipe is the set of jobs that carry its id as a label, so the id is all a recipe has
//! of its own in Redis. A counter of its own keeps recipe ids apart from job ids, as Scale numbers
//! recipes and jobs apart.

use crate::StoreError;

use super::Store;

impl Store {
    /// The next recipe id of this namespace: 1, 2, ... Never given twice, even to a recipe whose jobs
    /// were then refused (an id with no jobs is a recipe that does not exist).
    pub async fn next_recipe_id(&self) -> Result<u64, StoreError> {
        self.call(|mut conn| async move {
            Ok(redis::cmd("INCR")
                .arg(self.ns.key("recipe-id"))
                .query_async(&mut conn)
                .await?)
        })
        .await
    }
}
