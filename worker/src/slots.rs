/// The worker's thread slots. A job takes as many as it asks threads, capped at the total: a job asking
/// more threads than this host has runs alone, with all of them, instead of waiting forever for a host
/// that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slots {
    total: u32,
    free: u32,
}

impl Slots {
    pub(crate) fn new(total: u32) -> Self {
        Self { total, free: total }
    }

    /// How many slots a job asking `threads` takes here.
    pub(crate) fn grant(&self, threads: u32) -> u32 {
        threads.clamp(1, self.total)
    }

    /// Takes `n` slots if that many are free.
    pub(crate) fn try_take(&mut self, n: u32) -> bool {
        if n > self.free {
            return false;
        }
        self.free -= n;
        true
    }

    pub(crate) fn give_back(&mut self, n: u32) {
        self.free = (self.free + n).min(self.total);
    }

    pub(crate) fn free(&self) -> u32 {
        self.free
    }

    pub(crate) fn total(&self) -> u32 {
        self.total
    }

    pub(crate) fn busy(&self) -> u32 {
        self.total - self.free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots are never handed out beyond the total, and oversized asks are capped at it.
    #[test]
    fn never_oversubscribed() {
        let mut slots = Slots::new(4);
        assert_eq!(slots.grant(16), 4);
        assert_eq!(slots.grant(0), 1);
        assert!(slots.try_take(3));
        assert!(!slots.try_take(2));
        assert!(slots.try_take(1));
        assert_eq!(slots.free(), 0);
        assert_eq!(slots.busy(), 4);
        slots.give_back(4);
        slots.give_back(4);
        assert_eq!(slots.free(), 4);
    }
}
