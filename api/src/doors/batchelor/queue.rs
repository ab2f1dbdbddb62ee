//! Batchelor's `queue` method: its sort and filter enums, with exactly the original's values and error,
//! and how they pick and order jobs (its `QueuePaginator`, `QueueSortResult`, `QueueFilterResult` and
//! `JobState`).

use std::cmp::Ordering;

/// What the door knows of a job when it lists a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    pub jobid: String,
    /// Batchelor's state: `pending`, `running`, `success`...
    pub state: &'static str,
    pub task: String,
    pub name: Option<String>,
    /// Unix ms.
    pub started_ms: Option<u64>,
}

/// `QueueSortResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sort {
    None,
    Started,
    Jobid,
    State,
    Name,
    Published,
    Task,
}

/// `QueueFilterResult`: the same strings as the job states, plus the phases and groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    None,
    Pending,
    Running,
    Finished,
    Recent,
    Completed,
    /// An exact state: `success`, `warning`, `error`, `crashed`, `suspend`, `resumed`, `continued`.
    Exact(&'static str),
}

/// The original's message for a value its enum does not have (`EnumType`).
fn invalid(value: &str) -> String {
    format!("Invalid enum value {value}")
}

impl Sort {
    /// A `sort` parameter; absent or empty is `none`.
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, String> {
        Ok(match value.unwrap_or("none") {
            "" | "none" => Self::None,
            "started" => Self::Started,
            "jobid" => Self::Jobid,
            "state" => Self::State,
            "name" => Self::Name,
            "published" => Self::Published,
            "task" => Self::Task,
            other => return Err(invalid(other)),
        })
    }
}

impl Filter {
    /// A `filter` parameter; absent or empty is `none`. The PHP constant names `all` and `waiting` are
    /// not values, and are refused as the original refuses them.
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, String> {
        Ok(match value.unwrap_or("none") {
            "" | "none" => Self::None,
            "pending" => Self::Pending,
            "running" => Self::Running,
            "finished" => Self::Finished,
            "recent" => Self::Recent,
            "completed" => Self::Completed,
            "success" => Self::Exact("success"),
            "warning" => Self::Exact("warning"),
            "error" => Self::Exact("error"),
            "crashed" => Self::Exact("crashed"),
            "suspend" => Self::Exact("suspend"),
            "resumed" => Self::Exact("resumed"),
            "continued" => Self::Exact("continued"),
            other => return Err(invalid(other)),
        })
    }

    /// `QueuePaginator::isMatched`: phases for pending, running and finished; `recent` is every state
    /// but `crashed` and `error`; `completed` is `success` or `warning`; the rest exact.
    fn matches(self, state: &str) -> bool {
        match self {
            Self::None => true,
            Self::Pending => state == "pending",
            Self::Running => matches!(state, "running" | "continued" | "resumed" | "suspend"),
            Self::Finished => {
                matches!(
                    state,
                    "finished" | "crashed" | "error" | "success" | "warning"
                )
            }
            Self::Recent => !matches!(state, "crashed" | "error"),
            Self::Completed => matches!(state, "success" | "warning"),
            Self::Exact(wanted) => state == wanted,
        }
    }
}

/// The jobs of a queue (in enqueue order) that `filter` keeps, ordered by `sort`: the original's
/// `getSlice`, with `recent` giving at most 3. `published` is refused, as the original's local
/// queue refuses it.
pub(crate) fn select(jobs: Vec<Listed>, sort: Sort, filter: Filter) -> Result<Vec<Listed>, String> {
    let mut jobs: Vec<Listed> = jobs
        .into_iter()
        .filter(|j| filter.matches(j.state))
        .collect();
    let order: fn(&Listed, &Listed) -> Ordering = match sort {
        Sort::None => |_, _| Ordering::Equal,
        Sort::Jobid => |a, b| a.jobid.cmp(&b.jobid),
        Sort::State => |a, b| a.state.cmp(b.state),
        Sort::Task => |a, b| a.task.cmp(&b.task),
        // Unnamed jobs last.
        Sort::Name => |a, b| match (&a.name, &b.name) {
            (Some(a), Some(b)) => a.cmp(b),
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, None) => Ordering::Equal,
        },
        // The original means the latest start first (its comparator returns `a < b`), jobs that have
        // not started last.
        Sort::Started => |a, b| match (a.started_ms, b.started_ms) {
            (Some(a), Some(b)) => b.cmp(&a),
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, None) => Ordering::Equal,
        },
        Sort::Published => return Err("Not yet implemented".to_owned()),
    };
    jobs.sort_by(order);
    if filter == Filter::Recent {
        jobs.truncate(3);
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(jobid: &str, state: &'static str, name: Option<&str>, started: Option<u64>) -> Listed {
        Listed {
            jobid: jobid.to_owned(),
            state,
            task: format!("task-{jobid}"),
            name: name.map(str::to_owned),
            started_ms: started,
        }
    }

    fn ids(jobs: &[Listed]) -> Vec<&str> {
        jobs.iter().map(|j| j.jobid.as_str()).collect()
    }

    fn all() -> Vec<Listed> {
        vec![
            job("c", "pending", None, None),
            job("a", "running", Some("zeta"), Some(20)),
            job("e", "success", Some("alpha"), Some(10)),
            job("b", "error", None, Some(30)),
            job("d", "crashed", Some("beta"), Some(5)),
            job("f", "suspend", None, Some(1)),
            job("g", "resumed", None, Some(2)),
            job("h", "warning", None, Some(3)),
            job("i", "finished", None, Some(4)),
        ]
    }

    /// Every filter value picks what the original's `isMatched` picks; `recent` at most 3; unknown
    /// values (and the constant names `all` and `waiting`) are refused with the original's message.
    #[test]
    fn filters_pick_as_the_original_does() {
        let pick = |f: &str| {
            ids(&select(all(), Sort::None, Filter::parse(Some(f)).expect("valid")).expect("sorted"))
                .join("")
        };
        let expected = [
            ("none", "caebdfghi"),
            ("pending", "c"),
            ("running", "afg"),
            ("finished", "ebdhi"),
            ("success", "e"),
            ("warning", "h"),
            ("error", "b"),
            ("crashed", "d"),
            ("completed", "eh"),
            ("recent", "cae"),
            ("suspend", "f"),
            ("resumed", "g"),
            ("continued", ""),
        ];
        for (filter, jobs) in expected {
            assert_eq!(pick(filter), jobs, "filter {filter}");
        }
        assert_eq!(Filter::parse(None), Ok(Filter::None));
        for bad in ["all", "waiting", "Pending"] {
            assert_eq!(
                Filter::parse(Some(bad)),
                Err(format!("Invalid enum value {bad}"))
            );
        }
    }

    /// Every sort value orders as the original's `getSorted` means to; `published` is refused.
    #[test]
    fn sorts_order_as_the_original_does() {
        let order = |s: &str| {
            ids(&select(all(), Sort::parse(Some(s)).expect("valid"), Filter::None).expect("sorted"))
                .join("")
        };
        assert_eq!(order("none"), "caebdfghi");
        assert_eq!(order("jobid"), "abcdefghi");
        assert_eq!(order("state"), "dbicgaefh");
        assert_eq!(order("task"), "abcdefghi");
        assert_eq!(order("name"), "edacbfghi");
        assert_eq!(order("started"), "baedihgfc");
        assert_eq!(
            select(all(), Sort::Published, Filter::None),
            Err("Not yet implemented".to_owned())
        );
        assert_eq!(
            Sort::parse(Some("newest")),
            Err("Invalid enum value newest".to_owned())
        );
    }
}
