//! Correlation of the PBX's answers with the requests they answer, so that
//! only a *rejected credential* counts as a failed authentication — not the
//! ordinary 401 challenge every phone gets before it authenticates.
//!
//! Two kinds of record, both keyed by a fingerprint of (source address,
//! Call-ID[, CSeq]) under the engine's random hash keys:
//!
//! * request records, written when a request from the source is accepted:
//!   did it carry credentials? An answer to it is judged by that.
//! * challenge records, written when the PBX challenges the source on a
//!   Call-ID: a later 401/403/407 on the same Call-ID with a higher CSeq
//!   answers the retry that carried credentials. This covers sources whose
//!   requests the kernel lets through without asking us (open doors).
//!
//! Records live 32 s (SIP's transaction timeout, 64·T1) and are marked
//! answered rather than deleted, so a retransmitted answer is not counted
//! twice. Storage is set-associative (4 ways per bucket, fixed array): O(1)
//! per packet, and a full bucket overwrites its oldest record. With keyed
//! hashing an attacker cannot aim at one bucket; flooding all of them needs
//! accepted requests, which the rate limit bounds.

use super::types::{Millis, TableStats};

pub const TTL_SECS: u32 = 32;
const WAYS: usize = 4;

const CREDS: u8 = 1;
const ANSWERED: u8 = 2;
const CHALLENGE: u8 = 4;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Record {
    /// 0: empty.
    fp: u64,
    at_s: u32,
    /// Challenge records: highest CSeq challenged / answered.
    cseq: u32,
    answered_cseq: u32,
    flags: u8,
}

#[derive(Clone, Debug)]
pub struct Pending {
    ways: Vec<Record>,
    buckets_mask: usize,
    capacity: u32,
    len: u32,
    pub evictions: u64,
}

/// What a request record says about the request an answer answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answered {
    /// First answer to a request we saw; `creds`: it carried credentials.
    Request { creds: bool },
    /// Already answered once (a retransmission): ignore.
    Again,
    /// No record of the request.
    Unknown,
}

fn secs(m: Millis) -> u32 {
    (m.0 / 1000).min(u64::from(u32::MAX)) as u32
}

impl Pending {
    pub fn new(capacity: u32) -> Pending {
        let buckets = (capacity as usize)
            .div_ceil(WAYS)
            .max(1)
            .next_power_of_two();
        Pending {
            ways: vec![Record::default(); buckets * WAYS],
            buckets_mask: buckets - 1,
            capacity: (buckets * WAYS) as u32,
            len: 0,
            evictions: 0,
        }
    }

    fn bucket(&self, fp: u64) -> std::ops::Range<usize> {
        // High bits pick the bucket; low bits already went into `fp != 0`.
        let b = ((fp >> 32) as usize) & self.buckets_mask;
        b * WAYS..b * WAYS + WAYS
    }

    fn live(r: &Record, now_s: u32) -> bool {
        r.fp != 0 && now_s.saturating_sub(r.at_s) < TTL_SECS
    }

    fn find(&self, fp: u64, now_s: u32) -> Option<usize> {
        self.bucket(fp)
            .find(|&i| self.ways[i].fp == fp && Self::live(&self.ways[i], now_s))
    }

    /// A slot for a new record: a free or stale way, else the oldest.
    fn slot_for(&mut self, fp: u64, now_s: u32) -> usize {
        let range = self.bucket(fp);
        let mut oldest = range.start;
        for i in range {
            let r = &self.ways[i];
            if r.fp == 0 {
                self.len += 1;
                return i;
            }
            if !Self::live(r, now_s) {
                return i;
            }
            if r.at_s < self.ways[oldest].at_s {
                oldest = i;
            }
        }
        self.evictions += 1;
        oldest
    }

    /// Records an accepted request (fingerprint of source, Call-ID, CSeq).
    pub fn request(&mut self, fp: u64, creds: bool, now: Millis) {
        let fp = fp | 1;
        let now_s = secs(now);
        if let Some(i) = self.find(fp, now_s) {
            // A retransmission: keep `answered`, refresh the age.
            let r = &mut self.ways[i];
            r.at_s = now_s;
            if creds {
                r.flags |= CREDS;
            }
            return;
        }
        let i = self.slot_for(fp, now_s);
        self.ways[i] = Record {
            fp,
            at_s: now_s,
            cseq: 0,
            answered_cseq: 0,
            flags: if creds { CREDS } else { 0 },
        };
    }

    /// Looks up and marks the request an answer answers.
    pub fn answer(&mut self, fp: u64, now: Millis) -> Answered {
        let fp = fp | 1;
        match self.find(fp, secs(now)) {
            None => Answered::Unknown,
            Some(i) => {
                let r = &mut self.ways[i];
                if r.flags & ANSWERED != 0 {
                    Answered::Again
                } else {
                    r.flags |= ANSWERED;
                    Answered::Request {
                        creds: r.flags & CREDS != 0,
                    }
                }
            }
        }
    }

    /// The PBX answered CSeq `cseq` of a dialog (source, Call-ID) with a
    /// 401/403/407. Returns true if an earlier challenge on the same Call-ID
    /// means this answer rejects a retry that carried credentials (and it
    /// was not already counted). Records the challenge either way.
    pub fn challenge(&mut self, fp: u64, cseq: u32, now: Millis) -> bool {
        let fp = (fp | 1) ^ u64::from(CHALLENGE) << 1;
        let now_s = secs(now);
        if let Some(i) = self.find(fp, now_s) {
            let r = &mut self.ways[i];
            r.at_s = now_s;
            let rejects_retry = cseq > r.cseq && cseq > r.answered_cseq;
            if rejects_retry {
                r.answered_cseq = cseq;
            }
            r.cseq = r.cseq.max(cseq);
            return rejects_retry;
        }
        let i = self.slot_for(fp, now_s);
        self.ways[i] = Record {
            fp,
            at_s: now_s,
            cseq,
            answered_cseq: cseq,
            flags: CHALLENGE,
        };
        false
    }

    /// Drops stale records (housekeeping; correctness does not depend on it).
    pub fn expire(&mut self, now: Millis) {
        let now_s = secs(now);
        for r in &mut self.ways {
            if r.fp != 0 && !Self::live(r, now_s) {
                *r = Record::default();
                self.len -= 1;
            }
        }
    }

    pub fn bytes(&self) -> usize {
        self.ways.len() * std::mem::size_of::<Record>()
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            len: self.len,
            capacity: self.capacity,
            evictions: self.evictions,
            refused: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_once_and_age_out() {
        let mut p = Pending::new(64);
        let t0 = Millis::from_secs(100);
        p.request(42, true, t0);
        assert_eq!(p.answer(42, t0), Answered::Request { creds: true });
        // Retransmitted request and answer: not a second failure.
        p.request(42, true, t0);
        assert_eq!(p.answer(42, t0), Answered::Again);
        p.request(43, false, t0);
        assert_eq!(
            p.answer(43, Millis::from_secs(100 + TTL_SECS as u64)),
            Answered::Unknown
        );
    }

    #[test]
    fn challenge_chain_counts_the_rejected_retry_once() {
        let mut p = Pending::new(64);
        let t = Millis::from_secs(5);
        assert!(!p.challenge(7, 1, t)); // 401 to the first REGISTER: normal
        assert!(p.challenge(7, 2, t)); // 401 to the retry with credentials
        assert!(!p.challenge(7, 2, t)); // retransmitted answer
        assert!(p.challenge(7, 3, t)); // next guess on the same Call-ID
    }

    #[test]
    fn a_full_bucket_overwrites_its_oldest_record() {
        let mut p = Pending::new(4); // one bucket of 4
        for (k, fp) in [10u64, 20, 30, 40].iter().enumerate() {
            p.request(*fp, true, Millis::from_secs(k as u64));
        }
        p.request(50, true, Millis::from_secs(9));
        assert_eq!(p.evictions, 1);
        assert_eq!(p.answer(10, Millis::from_secs(9)), Answered::Unknown);
        assert_eq!(
            p.answer(50, Millis::from_secs(9)),
            Answered::Request { creds: true }
        );
    }
}
