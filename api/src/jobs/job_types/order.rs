//! The order a recipe's jobs run in: every job after the jobs it waits on, or the cycle that makes such
//! an order impossible. Jobs are numbered by their place in the recipe, so this knows nothing of names.

/// The jobs `0..parents.len()` ordered parents first, where `parents[j]` lists the jobs `j` waits on
/// (each below `parents.len()`). Among jobs that are ready together, the one written first comes first,
/// so the order depends only on the file and reads like it.
///
/// When no order exists, returns one cycle instead, as jobs `[a, b, ..., z]` where `a` waits on `b`,
/// `b` on the next, and `z` on `a`. The cycle is found by following first parents from the first job
/// left unordered, so the same file always names the same cycle.
pub(super) fn order(parents: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let count = parents.len();
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (child, of) in parents.iter().enumerate() {
        for &parent in of {
            children[parent].push(child);
        }
    }
    let mut placed = vec![false; count];
    let mut ordered = Vec::with_capacity(count);
    // Recipes are small (their jobs are written by hand), so scanning for the first ready job each
    // round is simpler than a priority queue and fast enough.
    while let Some(next) = (0..count).find(|&j| !placed[j] && waiting[j] == 0) {
        placed[next] = true;
        ordered.push(next);
        for &child in &children[next] {
            waiting[child] -= 1;
        }
    }
    if ordered.len() == count {
        return Ok(ordered);
    }
    // Every job left waits on at least one other job left, so following such a parent from any of them
    // must come back to a job already visited: the jobs from there on form the cycle.
    let start = (0..count).find(|&j| !placed[j]).unwrap_or_default();
    let mut path = vec![start];
    let mut at = start;
    loop {
        let Some(&parent) = parents[at].iter().find(|&&p| !placed[p]) else {
            // Unreachable by the reasoning above; an empty answer is still no order.
            return Err(path);
        };
        if let Some(seen) = path.iter().position(|&j| j == parent) {
            return Err(path.split_off(seen));
        }
        path.push(parent);
        at = parent;
    }
}
