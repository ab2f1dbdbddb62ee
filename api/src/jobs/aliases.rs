//! Jobs named by their clients (see [`Jobs::submit_named`]): found by name, listed, and let go of.

use hopper_common::{Job, JobId};

use super::{Jobs, Unavailable, record_job};

impl Jobs {
    /// The job named `name` in `door`, if it still exists.
    pub async fn named(&self, door: &str, name: &str) -> Result<Option<Job>, Unavailable> {
        let Some(id) = self.store.named(door, name).await? else {
            return Ok(None);
        };
        record_job(&id);
        Ok(self.store.get(&id).await?)
    }

    /// Every named job of `door`, oldest first, with its name.
    pub async fn named_jobs(&self, door: &str) -> Result<Vec<(String, Job)>, Unavailable> {
        Ok(self.store.named_jobs(door).await?)
    }

    /// Frees `name` in `door` if job `id` still has it (the job itself stays, as it is).
    pub async fn forget_name(
        &self,
        door: &str,
        name: &str,
        id: &JobId,
    ) -> Result<bool, Unavailable> {
        Ok(self.store.forget_name(door, name, id).await?)
    }
}
