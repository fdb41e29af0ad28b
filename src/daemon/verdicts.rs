//! Turns the verdicts of one drained batch into as few netlink messages as
//! the kernel allows.
//!
//! `NFQNL_MSG_VERDICT_BATCH` applies one verdict (and one nfmark) to every
//! packet of a queue whose id is at or below a given id and that is still
//! waiting. So drops go out one by one first (they leave the kernel queue),
//! and each run of accepted packets that share a verdict and a mark goes out
//! as a single batch message. The planning is pure so it can be tested
//! without a kernel; `nfqueue.rs` sends the plan.

/// What the kernel does with a packet we answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Drop,
    /// Continue with the next rule/table (answers from the PBX).
    Accept,
    /// Traverse the hook again; with `MARK_INSPECTED` set the ruleset lets
    /// the packet through and saves the mark on the connection.
    Repeat,
}

impl Kernel {
    /// Numeric netfilter verdict (`NF_DROP`, `NF_ACCEPT`, `NF_REPEAT`).
    pub fn code(self) -> u32 {
        match self {
            Kernel::Drop => 0,
            Kernel::Accept => 1,
            Kernel::Repeat => 4,
        }
    }
}

/// One answered packet, in the order the kernel handed them over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub queue: u16,
    pub id: u32,
    pub verdict: Kernel,
    /// New nfmark for the packet, if it changes.
    pub mark: Option<u32>,
}

/// One netlink message to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send {
    /// A single verdict for the answer at this index.
    One(usize),
    /// One verdict for every waiting packet of `queue` with id <= `max_id`.
    Batch {
        queue: u16,
        max_id: u32,
        verdict: Kernel,
        mark: Option<u32>,
    },
}

#[derive(Clone, Copy)]
struct Run {
    queue: u16,
    first: usize,
    len: usize,
    max_id: u32,
    verdict: Kernel,
    mark: Option<u32>,
}

impl Run {
    fn flush(self, out: &mut Vec<Send>) {
        if self.len == 1 {
            out.push(Send::One(self.first));
        } else {
            out.push(Send::Batch {
                queue: self.queue,
                max_id: self.max_id,
                verdict: self.verdict,
                mark: self.mark,
            });
        }
    }
}

/// Plans the messages for `answers` into `out` (cleared first). At most two
/// runs are open at a time (one per queue); a run ends when its verdict or
/// mark changes or ids stop increasing (a wrapped id sequence), so a batch
/// never covers a packet that was meant to get something else.
pub fn plan(answers: &[Answer], out: &mut Vec<Send>) {
    out.clear();
    let mut runs: [Option<Run>; 2] = [None, None];
    for (i, a) in answers.iter().enumerate() {
        if a.verdict == Kernel::Drop {
            out.push(Send::One(i));
            continue;
        }
        let slot = match runs
            .iter()
            .position(|r| matches!(r, Some(r) if r.queue == a.queue))
        {
            Some(s) => s,
            None => match runs.iter().position(|r| r.is_none()) {
                Some(s) => s,
                None => {
                    // A third queue number: never happens with our two
                    // queues, but stay correct by answering it alone.
                    out.push(Send::One(i));
                    continue;
                }
            },
        };
        let extend = match runs[slot] {
            Some(r) => r.verdict == a.verdict && r.mark == a.mark && a.id > r.max_id,
            None => false,
        };
        if extend {
            if let Some(r) = runs[slot].as_mut() {
                r.len += 1;
                r.max_id = a.id;
            }
        } else {
            if let Some(r) = runs[slot].take() {
                r.flush(out);
            }
            runs[slot] = Some(Run {
                queue: a.queue,
                first: i,
                len: 1,
                max_id: a.id,
                verdict: a.verdict,
                mark: a.mark,
            });
        }
    }
    for r in runs.iter_mut() {
        if let Some(r) = r.take() {
            r.flush(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(queue: u16, id: u32, verdict: Kernel, mark: Option<u32>) -> Answer {
        Answer {
            queue,
            id,
            verdict,
            mark,
        }
    }

    #[test]
    fn accepted_run_becomes_one_batch_and_drops_go_first() {
        let m = Some(0x5a0000);
        let answers = [
            a(5060, 1, Kernel::Repeat, m),
            a(5060, 2, Kernel::Drop, None),
            a(5060, 3, Kernel::Repeat, m),
            a(5060, 4, Kernel::Repeat, m),
        ];
        let mut out = Vec::new();
        plan(&answers, &mut out);
        assert_eq!(
            out,
            vec![
                Send::One(1),
                Send::Batch {
                    queue: 5060,
                    max_id: 4,
                    verdict: Kernel::Repeat,
                    mark: m
                }
            ]
        );
    }

    #[test]
    fn different_marks_split_runs_in_id_order() {
        let answers = [
            a(1, 10, Kernel::Repeat, Some(1)),
            a(1, 11, Kernel::Repeat, Some(1)),
            a(1, 12, Kernel::Repeat, Some(3)),
            a(1, 13, Kernel::Repeat, Some(3)),
        ];
        let mut out = Vec::new();
        plan(&answers, &mut out);
        assert_eq!(
            out,
            vec![
                Send::Batch {
                    queue: 1,
                    max_id: 11,
                    verdict: Kernel::Repeat,
                    mark: Some(1)
                },
                Send::Batch {
                    queue: 1,
                    max_id: 13,
                    verdict: Kernel::Repeat,
                    mark: Some(3)
                },
            ]
        );
    }

    #[test]
    fn queues_are_batched_separately_and_singletons_stay_single() {
        let answers = [
            a(1, 5, Kernel::Repeat, Some(8)),
            a(2, 7, Kernel::Accept, None),
            a(1, 6, Kernel::Repeat, Some(8)),
        ];
        let mut out = Vec::new();
        plan(&answers, &mut out);
        assert_eq!(
            out,
            vec![
                Send::Batch {
                    queue: 1,
                    max_id: 6,
                    verdict: Kernel::Repeat,
                    mark: Some(8)
                },
                Send::One(1),
            ]
        );
    }

    #[test]
    fn wrapped_ids_never_share_a_batch() {
        let answers = [
            a(1, u32::MAX, Kernel::Repeat, None),
            a(1, 1, Kernel::Repeat, None),
        ];
        let mut out = Vec::new();
        plan(&answers, &mut out);
        assert_eq!(out, vec![Send::One(0), Send::One(1)]);
    }

    #[test]
    fn every_answer_is_covered_exactly_once() {
        // Whatever the mix, each packet is answered by exactly one message.
        let kinds = [Kernel::Drop, Kernel::Accept, Kernel::Repeat];
        for seed in 0..200u32 {
            let answers: Vec<Answer> = (0..20u32)
                .map(|i| {
                    let x = seed.wrapping_mul(2654435761).wrapping_add(i * 40503);
                    a(
                        1 + (x % 2) as u16,
                        i + 1,
                        kinds[(x >> 3) as usize % 3],
                        Some((x >> 7) % 2),
                    )
                })
                .collect();
            let mut out = Vec::new();
            plan(&answers, &mut out);
            let mut covered = vec![0; answers.len()];
            let mut answered: Vec<bool> = vec![false; answers.len()];
            for s in &out {
                match *s {
                    Send::One(i) => {
                        covered[i] += 1;
                        answered[i] = true;
                    }
                    Send::Batch {
                        queue,
                        max_id,
                        verdict,
                        mark,
                    } => {
                        for (i, x) in answers.iter().enumerate() {
                            if x.queue == queue && x.id <= max_id && !answered[i] {
                                assert_eq!((x.verdict, x.mark), (verdict, mark), "seed {seed}");
                                covered[i] += 1;
                                answered[i] = true;
                            }
                        }
                    }
                }
            }
            assert!(covered.iter().all(|c| *c == 1), "seed {seed}: {covered:?}");
        }
    }
}
