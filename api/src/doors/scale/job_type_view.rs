//! Job types in Scale's shapes, from the operator's types file (`HOPPER_JOB_TYPES`). Scale's fields
//! Hopper has no notion of are constant (`is_system: false`, `is_active: true`) or null (authors, icon,
//! Docker image, dates); `docs/scale.md` lists them.

use serde_json::{Value, json};

use super::Version;
use crate::jobs::job_types::JobType;

/// The type's base object for `version`: `JobTypeBaseSerializerV5` (queue status, job lists and
/// details under v5) or v6's (`JobTypeBaseSerializerV6`, 6.9.0's fields with HEAD's `is_active` and
/// `is_system`, which the v6 seed's example shows).
pub(crate) fn base(job_type: &JobType, version: Version) -> Value {
    match version {
        Version::V5 => json!({
            "id": job_type.id,
            "name": job_type.name,
            "version": job_type.version,
            "title": title(job_type),
            "description": job_type.description,
            "category": job_type.category,
            "author_name": null,
            "author_url": null,
            "is_system": false,
            "is_long_running": false,
            "is_active": true,
            "is_operational": true,
            "is_paused": job_type.paused,
            "is_published": false,
            "icon_code": null,
        }),
        Version::V6 => json!({
            "id": job_type.id,
            "name": job_type.name,
            "version": job_type.version,
            "title": title(job_type),
            "description": job_type.description,
            "is_active": true,
            "is_system": false,
            "is_paused": job_type.paused,
            "is_published": false,
            "icon_code": null,
            // Scale's scheduler sets it when no node can give what a queued job needs; Hopper's
            // workers take what fits their slots, so nothing is ever unmet.
            "unmet_resources": null,
        }),
    }
}

/// The fuller object: v5's `JobTypeSerializer` (a job's details carry it, as the v5 seed's new-job
/// answer shows), or the v6 job type list's item.
pub(crate) fn full(job_type: &JobType, version: Version) -> Value {
    let mut object = base(job_type, version);
    let Value::Object(fields) = &mut object else {
        return object;
    };
    let more = match version {
        Version::V5 => json!({
            "uses_docker": false,
            "docker_privileged": false,
            "docker_image": null,
            "revision_num": 1,
            "priority": job_type.priority,
            "max_scheduled": null,
            "timeout": timeout_seconds(job_type),
            "max_tries": job_type.max_tries,
            "cpus_required": f64::from(job_type.threads),
            "mem_required": job_type.memory_mb.map(f64::from),
            "shared_mem_required": 0.0,
            "disk_out_const_required": 0.0,
            "disk_out_mult_required": 0.0,
            "created": null,
            "archived": null,
            "paused": null,
            "last_modified": null,
        }),
        Version::V6 => json!({
            "max_scheduled": null,
            "revision_num": 1,
            "docker_image": null,
            "created": null,
            "deprecated": null,
            "paused": null,
            "last_modified": null,
        }),
    };
    if let Value::Object(more) = more {
        fields.extend(more);
    }
    object
}

/// Scale's `title` is required; a type without one shows its name.
fn title(job_type: &JobType) -> &str {
    job_type.title.as_deref().unwrap_or(&job_type.name)
}

/// Scale's `timeout` is whole seconds; a type without a limit shows null.
pub(crate) fn timeout_seconds(job_type: &JobType) -> Option<u64> {
    job_type.timeout.map(|t| t.as_secs())
}
