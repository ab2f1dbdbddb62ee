//! What the shipper sends when: the plan of runs, and its mirror of what Redis keeps.

use super::*;

const BUDGET: LogBudget = LogBudget {
    head: 1000,
    tail: 4 << 20,
};

/// Ships a run as the shipper does, piece by piece, into the stream's mirror of Redis.
fn ship(stream: &mut Stream, runs: Vec<Range<u64>>) {
    for piece in runs.into_iter().flat_map(pieces_of) {
        stream.shipped(piece.since, piece.range.end);
    }
}

/// While the head fills, everything is shipped, the head and the tail apart.
#[test]
fn the_head_is_shipped_whole() {
    assert_eq!(plan(0, 0, 100, BUDGET, false), vec![0..100]);
    assert_eq!(
        plan(900, 0, 1500, BUDGET, false),
        vec![900..1000, 1000..1500]
    );
    assert_eq!(plan(1500, 0, 1500, BUDGET, false), vec![]);
}

/// A script that writes faster than a tick ships has the bytes in between skipped while it runs,
/// and the whole tail the cap keeps shipped again at its end, so the finished log has no hole.
#[test]
fn a_fast_writer_is_skipped_ahead_and_made_whole_at_the_end() {
    let mut stream = Stream::new(PathBuf::new());
    let len = 1000 + (3 << 20);
    let runs = plan(stream.length, stream.from, len, BUDGET, false);
    assert_eq!(runs, vec![0..1000, len - MOST_PER_TICK..len]);
    ship(&mut stream, runs);
    assert_eq!((stream.length, stream.from), (len, len - MOST_PER_TICK));
    let runs = plan(stream.length, stream.from, len, BUDGET, true);
    assert_eq!(runs, vec![1000..len], "the skipped part is shipped again");
    ship(&mut stream, runs);
    assert_eq!((stream.length, stream.from), (len, 1000));
    assert_eq!(plan(stream.length, stream.from, len, BUDGET, true), vec![]);
}

/// Past the cap, the last flush ships only the tail the cap keeps.
#[test]
fn the_last_flush_keeps_only_the_tail() {
    let len = 1000 + (10 << 20);
    let (length, from) = (len - (1 << 20), len - (2 << 20));
    assert_eq!(
        plan(length, from, len, BUDGET, true),
        vec![len - BUDGET.tail..len]
    );
    assert_eq!(plan(length, 0, len, BUDGET, true), vec![length..len]);
}

/// Runs are cut into pieces of at most a mebibyte, all naming where their run began.
#[test]
fn runs_are_cut_into_pieces() {
    let pieces: Vec<Piece> = pieces_of(10..10 + PIECE + 5).collect();
    assert_eq!(
        pieces,
        vec![
            Piece {
                range: 10..10 + PIECE,
                since: 10
            },
            Piece {
                range: 10 + PIECE..10 + PIECE + 5,
                since: 10
            },
        ]
    );
}
