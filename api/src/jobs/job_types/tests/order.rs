//! The order of a recipe's jobs, on job numbers alone: parents first, ties in file order, and the cycle
//! named when there is no order.

use super::super::order::order;

#[test]
fn parents_come_first_and_ties_keep_file_order() {
    assert_eq!(order(&[]), Ok(vec![]));
    assert_eq!(order(&[vec![], vec![0]]), Ok(vec![0, 1]));
    // 0 waits on 2, 1 on nothing, 2 on 1, 3 on nothing.
    assert_eq!(
        order(&[vec![2], vec![], vec![1], vec![]]),
        Ok(vec![1, 2, 0, 3])
    );
    // A diamond: 3 waits on 1 and 2, both on 0.
    assert_eq!(
        order(&[vec![], vec![0], vec![0], vec![1, 2]]),
        Ok(vec![0, 1, 2, 3])
    );
}

#[test]
fn a_cycle_is_named_from_the_first_job_caught_in_it() {
    assert_eq!(order(&[vec![0]]), Err(vec![0]));
    assert_eq!(order(&[vec![1], vec![0]]), Err(vec![0, 1]));
    // 0 waits on 1, which is in the cycle 1 -> 2 -> 3 -> 1, but 0 itself is not in it.
    assert_eq!(
        order(&[vec![1], vec![2], vec![3], vec![1], vec![]]),
        Err(vec![1, 2, 3])
    );
}
