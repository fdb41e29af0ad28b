//! A fixed-capacity hash table keyed by source address: the storage under
//! doors, bans and per-source trackers.
//!
//! Why not `HashMap::with_capacity`: hashbrown may reallocate on insert
//! after many removals (tombstones), and the router must never allocate per
//! packet. This table allocates its slots once, never grows, refuses an
//! insert when `len == capacity`, and deletes by backward shift (no
//! tombstones), so probe lengths stay short at any churn.
//!
//! The hash is computed once per packet by the engine with a randomly keyed
//! SipHash (`policy::hash`), so an attacker cannot aim addresses at one probe
//! chain or at one eviction sample. Slots are `capacity * 3 / 2`: load
//! stays ≤ 2/3 and linear probing stays a cache line or two.
//!
//! Eviction is the caller's choice (doors, bans and trackers each have a
//! rule); the table offers `sample`, which looks at a few random occupied
//! slots and returns the one the caller scores lowest.

use std::net::IpAddr;

#[derive(Clone, Copy, Debug)]
struct Slot<V> {
    hash: u32,
    key: IpAddr,
    val: V,
}

#[derive(Clone, Debug)]
pub struct Table<V> {
    slots: Vec<Option<Slot<V>>>,
    /// Presence filter: per cell, how many keys whose hash maps there are
    /// stored (255 sticks). Most lookups are for sources that are *not* in
    /// the table (not banned, no door); a zero cell answers them from a
    /// few kilobytes that stay in cache instead of probing megabytes.
    present: Vec<u8>,
    len: usize,
    capacity: usize,
}

impl<V: Copy> Table<V> {
    /// Allocates every slot now; nothing allocates later.
    pub fn new(capacity: u32) -> Table<V> {
        let capacity = (capacity as usize).max(1);
        let n = (capacity + capacity / 2).max(capacity + 1).max(8);
        Table {
            slots: vec![None; n],
            present: vec![0; (capacity * 2).next_power_of_two().max(64)],
            len: 0,
            capacity,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Heap bytes held by the slots (fixed from `new` on).
    pub fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Option<Slot<V>>>() + self.present.len()
    }

    pub fn is_full(&self) -> bool {
        self.len >= self.capacity
    }

    /// Home slot of a hash: Lemire's multiply-shift range reduction (no
    /// division, any table size).
    fn home(&self, hash: u32) -> usize {
        ((hash as u64 * self.slots.len() as u64) >> 32) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() {
            0
        } else {
            i + 1
        }
    }

    /// Slot index holding `key`, if present.
    /// Filter cell of a hash: its low bits (the home slot uses the high
    /// bits of the same 32, so the two are independent).
    fn cell(&self, hash: u32) -> usize {
        hash as usize & (self.present.len() - 1)
    }

    fn mark(&mut self, hash: u32) {
        let c = self.cell(hash);
        self.present[c] = self.present[c].saturating_add(1);
    }

    fn unmark(&mut self, hash: u32) {
        let c = self.cell(hash);
        if self.present[c] != u8::MAX {
            self.present[c] -= 1;
        }
    }

    pub fn find(&self, hash: u64, key: IpAddr) -> Option<usize> {
        let hash = hash as u32;
        if self.present[self.cell(hash)] == 0 {
            return None;
        }
        let mut i = self.home(hash);
        // The table is never full (slots > capacity), so an empty slot ends
        // every probe; the bound is a belt against a logic error.
        for _ in 0..self.slots.len() {
            match &self.slots[i] {
                None => return None,
                Some(s) if s.hash == hash && s.key == key => return Some(i),
                Some(_) => i = self.next(i),
            }
        }
        None
    }

    pub fn get(&self, hash: u64, key: IpAddr) -> Option<&V> {
        let i = self.find(hash, key)?;
        self.slots[i].as_ref().map(|s| &s.val)
    }

    pub fn get_mut(&mut self, hash: u64, key: IpAddr) -> Option<&mut V> {
        let i = self.find(hash, key)?;
        self.slots[i].as_mut().map(|s| &mut s.val)
    }

    pub fn at(&self, i: usize) -> Option<(IpAddr, &V)> {
        self.slots.get(i)?.as_ref().map(|s| (s.key, &s.val))
    }

    pub fn at_mut(&mut self, i: usize) -> Option<&mut V> {
        self.slots.get_mut(i)?.as_mut().map(|s| &mut s.val)
    }

    pub fn for_each_mut(&mut self, mut f: impl FnMut(IpAddr, &mut V)) {
        for s in self.slots.iter_mut().flatten() {
            f(s.key, &mut s.val);
        }
    }

    /// Inserts a key known to be absent. `Err(val)` when the table is full:
    /// the caller evicts (or refuses) and tries again.
    pub fn insert_new(&mut self, hash: u64, key: IpAddr, val: V) -> Result<usize, V> {
        if self.is_full() {
            return Err(val);
        }
        let hash = hash as u32;
        let mut i = self.home(hash);
        while self.slots[i].is_some() {
            i = self.next(i);
        }
        self.slots[i] = Some(Slot { hash, key, val });
        self.mark(hash);
        self.len += 1;
        Ok(i)
    }

    /// Removes the entry at slot `i` and closes the gap by shifting later
    /// members of the probe chain back (no tombstones).
    pub fn remove_at(&mut self, i: usize) -> Option<(IpAddr, V)> {
        let removed = self.slots.get_mut(i)?.take()?;
        self.unmark(removed.hash);
        self.len -= 1;
        let n = self.slots.len();
        let mut hole = i;
        let mut j = self.next(i);
        loop {
            let home = match &self.slots[j] {
                None => break,
                Some(s) => self.home(s.hash),
            };
            // Distance from home to j and from home to the hole (cyclic):
            // move the entry back only if the hole lies on its probe path.
            let dist_j = wrap(j + n - home, n);
            let dist_hole = wrap(hole + n - home, n);
            if dist_hole <= dist_j {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
            j = self.next(j);
        }
        Some((removed.key, removed.val))
    }

    pub fn remove(&mut self, hash: u64, key: IpAddr) -> Option<V> {
        let i = self.find(hash, key)?;
        self.remove_at(i).map(|(_, v)| v)
    }

    /// Removes every entry for which `keep` is false. Allocation-free; an
    /// entry shifted into the current slot is examined before moving on.
    pub fn retain(&mut self, mut keep: impl FnMut(IpAddr, &V) -> bool) -> usize {
        let mut removed = 0;
        let mut i = 0;
        while i < self.slots.len() {
            let drop_it = match &self.slots[i] {
                Some(s) => !keep(s.key, &s.val),
                None => false,
            };
            if drop_it {
                self.remove_at(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, &V)> + '_ {
        self.slots.iter().flatten().map(|s| (s.key, &s.val))
    }

    /// Looks at up to `tries` random occupied slots (random starts from
    /// `rng`) and returns the one with the lowest `score`; `None` scores
    /// mean "must not be evicted". Bounded work whatever the table holds.
    pub fn sample(
        &self,
        rng: &mut Rng,
        tries: usize,
        score: impl Fn(&V) -> Option<u64>,
    ) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let n = self.slots.len();
        let mut best: Option<(u64, usize)> = None;
        for _ in 0..tries {
            // Multiply-shift like `home`: a 64-bit division per sample
            // is slow on x86 and a library call on 32-bit MIPS routers.
            let mut i = (((rng.next() >> 32) * n as u64) >> 32) as usize;
            // Occupancy ≤ 2/3, so a short walk finds an occupied slot.
            for _ in 0..n {
                if self.slots[i].is_some() {
                    break;
                }
                i = self.next(i);
            }
            if let Some(s) = &self.slots[i] {
                if let Some(sc) = score(&s.val) {
                    if best.is_none_or(|(b, _)| sc < b) {
                        best = Some((sc, i));
                    }
                }
            }
        }
        best.map(|(_, i)| i)
    }

    /// Makes room for one entry: removes the lowest-scoring of a
    /// [`Table::sample`] and says whether it was still `live` (an eviction
    /// worth counting, not just a stale slot). `None`: every sampled entry
    /// must stay.
    pub fn evict_one(
        &mut self,
        rng: &mut Rng,
        tries: usize,
        score: impl Fn(&V) -> Option<u64>,
        live: impl Fn(&V) -> bool,
    ) -> Option<bool> {
        let i = self.sample(rng, tries, score)?;
        let was_live = self.at(i).is_some_and(|(_, v)| live(v));
        self.remove_at(i);
        Some(was_live)
    }
}

/// `x % n` for `x < 2 * n` (a cyclic distance), without a division: the
/// backward shift computes two per moved entry.
fn wrap(x: usize, n: usize) -> usize {
    if x >= n {
        x - n
    } else {
        x
    }
}

/// xorshift64*: cheap randomness for eviction samples. Seeded from the
/// process's random hash keys, so the samples are not predictable from
/// outside.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0xc633_6400 + n))
    }

    #[test]
    fn insert_find_remove_keeps_every_other_key_reachable() {
        let rs = std::collections::hash_map::RandomState::new();
        let mut t: Table<u32> = Table::new(500);
        for n in 0..500 {
            assert!(t.insert_new(rs.hash_one(ip(n)), ip(n), n).is_ok());
        }
        assert!(t.is_full());
        assert!(t.insert_new(rs.hash_one(ip(999)), ip(999), 999).is_err());
        // Remove every third key; all others must still be found.
        for n in (0..500).step_by(3) {
            assert_eq!(t.remove(rs.hash_one(ip(n)), ip(n)), Some(n));
        }
        for n in 0..500 {
            let found = t.get(rs.hash_one(ip(n)), ip(n)).copied();
            if n % 3 == 0 {
                assert_eq!(found, None);
            } else {
                assert_eq!(found, Some(n));
            }
        }
        assert_eq!(t.len(), 500 - 167);
    }

    #[test]
    fn colliding_hashes_survive_removal_in_the_middle_of_a_chain() {
        // Same hash for all: one long chain, the worst case for shifting.
        let mut t: Table<u32> = Table::new(20);
        for n in 0..20 {
            t.insert_new(7, ip(n), n).unwrap();
        }
        t.remove(7, ip(5));
        t.remove(7, ip(0));
        t.remove(7, ip(19));
        for n in 0..20 {
            let expect = if [0, 5, 19].contains(&n) {
                None
            } else {
                Some(n)
            };
            assert_eq!(t.get(7, ip(n)).copied(), expect, "key {n}");
        }
    }

    #[test]
    fn retain_and_sample_are_bounded_and_correct() {
        let rs = std::collections::hash_map::RandomState::new();
        let mut t: Table<u32> = Table::new(100);
        for n in 0..100 {
            t.insert_new(rs.hash_one(ip(n)), ip(n), n).unwrap();
        }
        assert_eq!(t.retain(|_, v| v % 2 == 0), 50);
        assert_eq!(t.len(), 50);
        assert!(t.iter().all(|(_, v)| v % 2 == 0));
        let mut rng = Rng::new(42);
        let i = t.sample(&mut rng, 64, |v| Some(*v as u64)).unwrap();
        // 64 samples over 50 entries: the minimum is very likely small.
        assert!(*t.at(i).unwrap().1 < 20);
        assert_eq!(t.sample(&mut rng, 8, |_| None), None);
    }
}
