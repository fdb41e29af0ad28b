//! Property tests of the JSON writer and reader that `check-config --json`,
//! `status --json`, the control socket and the LuCI contract share: random
//! values survive a write/read round trip (compact and pretty), and random
//! or damaged input never panics the reader.

use sipwall::json::{self, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn string(r: &mut Rng) -> String {
    const SPECIAL: &[char] = &[
        '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1f}', '\u{7f}', 'é', '☎', '😀', '\u{2028}', '/',
    ];
    (0..r.below(12))
        .map(|_| {
            if r.below(3) == 0 {
                SPECIAL[r.below(SPECIAL.len() as u64) as usize]
            } else {
                (b'a' + r.below(26) as u8) as char
            }
        })
        .collect()
}

fn value(r: &mut Rng, depth: u32) -> Value {
    let leaf = depth >= 4 || r.below(3) == 0;
    match r.below(if leaf { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(r.below(2) == 1),
        2 => Value::UInt(r.next() >> r.below(64)),
        3 => Value::Int(-((r.next() >> (1 + r.below(63))) as i64) - 1),
        4 => Value::Float((r.below(2_000_000) as f64 - 1_000_000.0) / 64.0 + 0.5),
        5 => Value::Str(string(r)),
        6 => Value::Array((0..r.below(5)).map(|_| value(r, depth + 1)).collect()),
        _ => Value::Object(
            (0..r.below(5))
                .map(|i| (format!("{}{i}", string(r)), value(r, depth + 1)))
                .collect(),
        ),
    }
}

#[test]
fn random_values_round_trip_compact_and_pretty() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    for _ in 0..3000 {
        let v = value(&mut r, 0);
        let compact = v.to_string();
        assert_eq!(json::parse(&compact).as_ref(), Ok(&v), "{compact}");
        assert_eq!(json::parse(&v.pretty()).as_ref(), Ok(&v));
        assert!(
            !compact.contains('\n'),
            "compact output is one line: {compact}"
        );
    }
}

#[test]
fn random_and_damaged_input_never_panics() {
    let mut r = Rng(0x0f0f_1234_5555_aaaa);
    let mut rejected = 0;
    for _ in 0..3000 {
        let mut bytes = value(&mut r, 0).to_string().into_bytes();
        for _ in 0..=r.below(4) {
            if bytes.is_empty() {
                break;
            }
            let i = r.below(bytes.len() as u64) as usize;
            match r.below(3) {
                0 => {
                    const NOISE: &[u8] = b"{}[]\",:\\u0e-+.";
                    bytes[i] = NOISE[r.below(NOISE.len() as u64) as usize];
                }
                1 => {
                    bytes.remove(i);
                }
                _ => bytes.truncate(i),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = json::parse(&text) {
            rejected += 1;
            assert!(e.offset <= text.len(), "{e} for {text}");
        }
    }
    assert!(
        rejected > 1000,
        "damage should usually be detected ({rejected})"
    );
    let deep_object = "{\"a\":".repeat(100_000);
    assert!(json::parse(&deep_object).is_err());
}
