//! Inputs for the parsers' property tests: the committed seeds of `tests/fixtures/fuzz/NAME/`
//! (real files in each format), cut, flipped, spliced and sprinkled with the bytes parsers trip
//! on, or plain random bytes. `PROPTEST_CASES` sets how many; `scripts/fuzz.sh` runs many.

use std::path::PathBuf;

use proptest::prelude::*;

/// Bytes that end fields, lines and numbers, or are not text.
const TOKENS: &[&[u8]] = &[
    b",",
    b"\n",
    b"\r\n",
    b"\"",
    b" ",
    b"",
    b"-1",
    b"0",
    b"nan",
    b"inf",
    b"1e309",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"=",
    b"[",
    b"]",
    b"#",
    b"schema_version",
    b"\0",
];

/// One change to a seed; positions are taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, usize),
    Delete(usize, usize),
    Repeat(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        at.prop_map(Edit::Truncate),
        (at, any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (at, 0..TOKENS.len()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (at, 1..64usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (at, 1..256usize, 1..64usize).prop_map(|(i, n, k)| Edit::Repeat(i, n, k)),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let at = |i: usize, b: &Vec<u8>| if b.is_empty() { 0 } else { i % (b.len() + 1) };
        match *e {
            Edit::Truncate(i) => b.truncate(at(i, &b)),
            Edit::Flip(i, v) => {
                if !b.is_empty() {
                    let i = i % b.len();
                    b[i] = v;
                }
            }
            Edit::Insert(i, t) => {
                let i = at(i, &b);
                b.splice(i..i, TOKENS[t].iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(i, &b);
                b.drain(i..(i + n).min(b.len()));
            }
            Edit::Repeat(i, n, k) => {
                let i = at(i, &b);
                let piece = b[i..(i + n).min(b.len())].to_vec();
                for _ in 0..k {
                    b.splice(i..i, piece.iter().copied());
                }
            }
        }
    }
    b
}

/// The seeds of `tests/fixtures/fuzz/<corpus>/`, in file-name order.
pub fn seeds(corpus: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(corpus);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no seeds", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// A seed of `corpus` with up to eight edits, or (one time in eight) random bytes.
pub fn inputs(corpus: &str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds(corpus);
    let n = seeds.len();
    prop_oneof![
        7 => (0..n, prop::collection::vec(edit(), 0..8))
            .prop_map(move |(k, edits)| apply(&seeds[k], &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..2048),
    ]
}
