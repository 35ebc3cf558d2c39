//! Reader of Kaggle's facial-keypoints `training.csv`: 30 keypoint coordinates (empty = missing)
//! then `Image`, 9216 pixel values 0..=255 of a 96×96 gray face.
//!
//! Streaming and parallel: the file is read in 16 MiB chunks cut at line ends, and while one
//! chunk is read the previous one's rows are parsed in parallel straight into the f32 buffers.
//! What is accepted: LF or CRLF, a UTF-8 BOM, blank lines (skipped, as pandas does), any field
//! wrapped in double quotes, spaces around coordinates, and runs of spaces between pixels (as
//! `np.fromstring(sep=' ')` does). Anything else is an error naming the line and the field.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::Result;
use memchr::{memchr, memchr_iter, memrchr};
use rayon::prelude::*;

use crate::workload::data::{Dataset, UNIT, unreadable};
use crate::error::input;

pub const SIDE: usize = 96;
pub const PIXELS: usize = SIDE * SIDE;
pub const TARGETS: usize = 30;

/// The header of `training.csv`, in Kaggle's order: `_x` at 2k, `_y` at 2k+1, then `Image`.
pub const COLUMNS: [&str; TARGETS + 1] = [
    "left_eye_center_x",
    "left_eye_center_y",
    "right_eye_center_x",
    "right_eye_center_y",
    "left_eye_inner_corner_x",
    "left_eye_inner_corner_y",
    "left_eye_outer_corner_x",
    "left_eye_outer_corner_y",
    "right_eye_inner_corner_x",
    "right_eye_inner_corner_y",
    "right_eye_outer_corner_x",
    "right_eye_outer_corner_y",
    "left_eyebrow_inner_end_x",
    "left_eyebrow_inner_end_y",
    "left_eyebrow_outer_end_x",
    "left_eyebrow_outer_end_y",
    "right_eyebrow_inner_end_x",
    "right_eyebrow_inner_end_y",
    "right_eyebrow_outer_end_x",
    "right_eyebrow_outer_end_y",
    "nose_tip_x",
    "nose_tip_y",
    "mouth_left_corner_x",
    "mouth_left_corner_y",
    "mouth_right_corner_x",
    "mouth_right_corner_y",
    "mouth_center_top_lip_x",
    "mouth_center_top_lip_y",
    "mouth_center_bottom_lip_x",
    "mouth_center_bottom_lip_y",
    "Image",
];

/// Target columns that trade places when a face is mirrored (Nouri's `flip_indices`).
pub const FLIP_PAIRS: [(usize, usize); 12] = [
    (0, 2),
    (1, 3),
    (4, 8),
    (5, 9),
    (6, 10),
    (7, 11),
    (12, 16),
    (13, 17),
    (14, 18),
    (15, 19),
    (22, 24),
    (23, 25),
];

/// What to do with rows that lack some keypoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Missing {
    /// Keep every row; missing targets are masked out of the loss.
    #[default]
    Mask,
    /// Keep only rows with all 30 values (Nouri's `dropna`: 2140 of 7049).
    Drop,
    /// pandas `fillna(method='ffill')`: copy each column's last value down; a column with no
    /// earlier value stays masked.
    Ffill,
}

impl Missing {
    /// The name `--missing` takes and the `missing` column records.
    pub fn name(self) -> &'static str {
        match self {
            Missing::Mask => "mask",
            Missing::Drop => "drop",
            Missing::Ffill => "ffill",
        }
    }
}

const CHUNK: usize = 16 << 20;
/// The shortest line a row can be: 30 empty keypoint fields, then 9216 one-digit pixels with a
/// space between each. Space for a row's floats (36 KiB) is only made for lines this long, so
/// memory stays within a small multiple of the file's size whatever the file holds.
const MIN_ROW: usize = TARGETS + 2 * PIXELS - 1;

/// Reads `training.csv` into normalised pixels (p/255) and targets ((c − 48)/48), kind `kaggle`.
pub fn load(path: &Path, missing: Missing) -> Result<Dataset> {
    let name = path.display().to_string();
    let mut file = File::open(path).map_err(|e| unreadable(path, e))?;
    let mut d = Dataset {
        x: Vec::new(),
        y: Vec::new(),
        mask: Vec::new(),
        kind: "kaggle",
        skipped: 0,
    };
    // Two buffers swap roles (one parsed while the other fills), so pages are faulted once.
    let (mut cur, mut next) = (Vec::new(), Vec::new());
    let mut eof = fill(&mut file, &mut cur).map_err(|e| unreadable(path, e))?;
    if cur.is_empty() {
        return input(format!(
            "{name}: the file is empty, expected Kaggle's training.csv"
        ));
    }
    let mut line = 1; // the number of `cur`'s first line
    let mut start = 0;
    loop {
        let cut = match memrchr(b'\n', &cur) {
            _ if eof => cur.len(),
            Some(i) => i + 1,
            None => return input(format!("{name}:{line}: a line longer than 16 MiB")),
        };
        if line == 1 {
            let end = memchr(b'\n', &cur).unwrap_or(cur.len());
            check_header(&name, &cur[..end])?;
            start = (end + 1).min(cut);
            line = 2;
        }
        next.clear();
        next.extend_from_slice(&cur[cut..]);
        let (read, parsed) = rayon::join(
            || {
                if eof {
                    Ok(true)
                } else {
                    fill(&mut file, &mut next)
                }
            },
            || parse_lines(&name, &cur[start..cut], line, &mut d),
        );
        line += parsed?;
        if eof {
            break;
        }
        eof = read.map_err(|e| unreadable(path, e))?;
        std::mem::swap(&mut cur, &mut next);
        start = 0;
    }
    if d.y.is_empty() {
        return input(format!("{name}: no data rows after the header"));
    }
    match missing {
        Missing::Mask => {}
        Missing::Drop => {
            retain_complete(&mut d);
            if d.y.is_empty() {
                return input(format!(
                    "{name}: no row has all 30 keypoints, so dropping incomplete rows leaves none"
                ));
            }
        }
        Missing::Ffill => forward_fill(&mut d),
    }
    Ok(d)
}

/// Mirrors one face left–right: pixels, left/right keypoints swapped, x negated. Like Nouri,
/// x → −x in normalised units, i.e. c → 96 − c in pixels (the exact mirror is 95 − c).
pub fn flip(image: &mut [f32], targets: &mut [f32], mask: &mut [f32]) {
    for row in image.chunks_exact_mut(SIDE) {
        row.reverse();
    }
    for &(a, b) in &FLIP_PAIRS {
        targets.swap(a, b);
        mask.swap(a, b);
    }
    for x in targets.iter_mut().step_by(2) {
        *x = -*x;
    }
}

/// Appends up to [`CHUNK`] bytes to `buf`; true at end of file.
fn fill(file: &mut File, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.reserve(CHUNK);
    let n = file.by_ref().take(CHUNK as u64).read_to_end(buf)?;
    Ok(n < CHUNK)
}

fn check_header(name: &str, line: &[u8]) -> Result<()> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let got: Vec<&[u8]> = trim_cr(line).split(|&b| b == b',').map(unquote).collect();
    if got.len() != COLUMNS.len() {
        return input(format!(
            "{name}:1: the header has {} columns, expected the 31 of Kaggle's training.csv \
             ({}, …, Image)",
            got.len(),
            COLUMNS[0]
        ));
    }
    match got
        .iter()
        .zip(COLUMNS)
        .position(|(g, w)| *g != w.as_bytes())
    {
        Some(k) => input(format!(
            "{name}:1: header column {} is {}, expected \"{}\"",
            k + 1,
            show(got[k]),
            COLUMNS[k]
        )),
        None => Ok(()),
    }
}

/// Parses the lines of `text` (whole lines, the first numbered `first`) onto the end of `d`;
/// returns how many lines it consumed. The error names the first bad line.
fn parse_lines(name: &str, text: &[u8], first: usize, d: &mut Dataset) -> Result<usize> {
    let mut rows = Vec::new(); // (start, end, line number) of each non-blank line
    let mut start = 0;
    let mut n = 0;
    for end in memchr_iter(b'\n', text).chain((text.last() != Some(&b'\n')).then_some(text.len())) {
        if !trim_cr(&text[start..end]).is_empty() {
            rows.push((start, end, first + n));
        }
        (start, n) = (end + 1, n + 1);
    }
    // A line too short to be a row is an error; the lines before it are still checked first,
    // so the error names the first bad line.
    let short = rows.iter().position(|&(s, e, _)| e - s < MIN_ROW);
    let short = short.map(|k| rows.split_off(k)[0]);
    let base = d.y.len() / TARGETS;
    let total = base + rows.len();
    // Zeroed in parallel: first touches of fresh pages are page faults, a third of the time.
    d.x.par_extend(rayon::iter::repeat_n(0.0, rows.len() * PIXELS));
    d.y.resize(total * TARGETS, 0.0);
    d.mask.resize(total * TARGETS, 0.0);
    let bad = rows
        .par_iter()
        .zip(d.x[base * PIXELS..].par_chunks_mut(PIXELS))
        .zip(d.y[base * TARGETS..].par_chunks_mut(TARGETS))
        .zip(d.mask[base * TARGETS..].par_chunks_mut(TARGETS))
        .filter_map(|(((&(s, e, line), x), y), m)| {
            parse_row(trim_cr(&text[s..e]), x, y, m)
                .err()
                .map(|msg| (line, msg))
        })
        .min_by_key(|(line, _)| *line);
    let bad = bad.or_else(|| {
        short.map(|(s, e, line)| {
            let (mut x, mut y, mut m) = (vec![0.0; PIXELS], [0.0; TARGETS], [0.0; TARGETS]);
            let msg = parse_row(trim_cr(&text[s..e]), &mut x, &mut y, &mut m)
                .err()
                .unwrap_or_else(|| "too short to be a row".into());
            (line, msg)
        })
    });
    match bad {
        Some((line, msg)) => input(format!("{name}:{line}: {msg}")),
        None => Ok(n),
    }
}

fn parse_row(line: &[u8], x: &mut [f32], y: &mut [f32], m: &mut [f32]) -> Result<(), String> {
    let mut rest = line;
    for (k, (y, m)) in y.iter_mut().zip(m.iter_mut()).enumerate() {
        let Some(i) = memchr(b',', rest) else {
            return Err(field_count(line));
        };
        let field = unquote(&rest[..i]);
        rest = &rest[i + 1..];
        if field.is_empty() {
            (*y, *m) = (0.0, 0.0);
            continue;
        }
        let v = std::str::from_utf8(field)
            .ok()
            .and_then(|s| s.parse::<f32>().ok())
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                let col = COLUMNS[k];
                format!("field {} ({col}) is {}, not a number", k + 1, show(field))
            })?;
        (*y, *m) = ((v - 48.0) / 48.0, 1.0);
    }
    // A comma left in `rest` also fails the pixels; only then is it looked for.
    parse_pixels(unquote(rest), x).map_err(|()| match memchr(b',', rest) {
        Some(_) => field_count(line),
        None => explain_pixels(unquote(rest)),
    })
}

/// The hot loop: one value per turn, no allocation. Any surprise returns `Err(())` and
/// [`explain_pixels`] works out what was wrong.
fn parse_pixels(field: &[u8], x: &mut [f32]) -> Result<(), ()> {
    let mut i = 0;
    for slot in x.iter_mut() {
        while field.get(i) == Some(&b' ') {
            i += 1;
        }
        let (v, len) = number(field.get(i..).unwrap_or_default()).ok_or(())?;
        *slot = *UNIT.get(v).ok_or(())?;
        i += len + 1; // the digits and the space after them
    }
    match field.get(i..) {
        Some(rest) if !rest.iter().all(|&b| b == b' ') => Err(()),
        _ => Ok(()),
    }
}

/// The number of 1–3 digits that `b` starts with, and its length; `None` unless a space or the
/// end follows it. Four bytes at a time (SWAR): flag the non-digits, shift the digits to the
/// top, then combine pairs.
#[inline]
fn number(b: &[u8]) -> Option<(usize, usize)> {
    let w = match b.first_chunk::<4>() {
        Some(w) => u32::from_le_bytes(*w),
        None => {
            let mut w = [b' '; 4];
            w[..b.len()].copy_from_slice(b);
            u32::from_le_bytes(w)
        }
    };
    let high = (w & 0xF0F0_F0F0) ^ 0x3030_3030;
    let non_digit = high | ((w & 0x0F0F_0F0F) + 0x0606_0606) & 0x1010_1010;
    let len = (non_digit.trailing_zeros() / 8) as usize;
    if len == 0 || len == 4 || (w >> (8 * len)) as u8 != b' ' {
        return None;
    }
    let d = (w & 0x0F0F_0F0F) << (8 * (4 - len));
    let d = (d * 10 + (d >> 8)) & 0x00FF_00FF;
    Some((((d * 100 + (d >> 16)) & 0xFFFF) as usize, len))
}

fn explain_pixels(field: &[u8]) -> String {
    let mut count = 0;
    let tokens = field.split(|&b| b == b' ').filter(|t| !t.is_empty());
    for (i, tok) in tokens.enumerate() {
        let v = std::str::from_utf8(tok)
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        let why = match v {
            _ if !tok.iter().all(u8::is_ascii_digit) => "not an integer 0..=255",
            Some(v) if v <= 255 && tok.len() <= 3 => {
                count += 1;
                continue;
            }
            Some(v) if v <= 255 => "more than 3 digits",
            _ => "outside 0..=255",
        };
        return format!("field 31 (Image) value {} is {}, {why}", i + 1, show(tok));
    }
    format!("field 31 (Image) has {count} values, expected {PIXELS} (96×96)")
}

fn field_count(line: &[u8]) -> String {
    let n = memchr_iter(b',', line).count() + 1;
    format!("{n} fields, expected 31 (30 keypoint coordinates, then Image)")
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The field without surrounding spaces and one pair of double quotes.
fn unquote(field: &[u8]) -> &[u8] {
    let f = field.trim_ascii();
    match f {
        [b'"', inner @ .., b'"'] => inner,
        _ => f,
    }
}

/// A field for an error message: quoted, escaped, cut short.
fn show(field: &[u8]) -> String {
    let s = String::from_utf8_lossy(&field[..field.len().min(40)]);
    let more = if field.len() > 40 { "…" } else { "" };
    format!("{s:?}{more}")
}

/// Nouri's `dropna`: keeps the rows with all 30 targets, in order.
fn retain_complete(d: &mut Dataset) {
    let mut kept = 0;
    for i in 0..d.y.len() / TARGETS {
        if d.mask[i * TARGETS..(i + 1) * TARGETS]
            .iter()
            .all(|&m| m == 1.0)
        {
            if kept != i {
                d.x.copy_within(i * PIXELS..(i + 1) * PIXELS, kept * PIXELS);
                d.y.copy_within(i * TARGETS..(i + 1) * TARGETS, kept * TARGETS);
                d.mask
                    .copy_within(i * TARGETS..(i + 1) * TARGETS, kept * TARGETS);
            }
            kept += 1;
        }
    }
    d.x.truncate(kept * PIXELS);
    d.y.truncate(kept * TARGETS);
    d.mask.truncate(kept * TARGETS);
}

fn forward_fill(d: &mut Dataset) {
    let mut last = [None; TARGETS];
    for (y, m) in
        d.y.chunks_exact_mut(TARGETS)
            .zip(d.mask.chunks_exact_mut(TARGETS))
    {
        for ((y, m), last) in y.iter_mut().zip(m.iter_mut()).zip(&mut last) {
            if *m == 1.0 {
                *last = Some(*y);
            } else if let Some(v) = *last {
                (*y, *m) = (v, 1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn image(v: &str) -> String {
        vec![v; PIXELS].join(" ")
    }

    /// A row with `coords` (None = empty field) and a constant image.
    fn row(coords: &[Option<f32>], pixel: &str) -> String {
        let c: Vec<String> = (0..TARGETS)
            .map(|k| {
                coords
                    .get(k)
                    .copied()
                    .flatten()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            })
            .collect();
        format!("{},{}\n", c.join(","), image(pixel))
    }

    /// A row of 48s with coordinate `k` spelled `text`.
    fn row_with(k: usize, text: &str) -> String {
        let mut f = vec!["48"; TARGETS];
        f[k] = text;
        format!("{},{}\n", f.join(","), image("3"))
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("training.csv");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        (dir, path)
    }

    fn header() -> String {
        COLUMNS.join(",") + "\n"
    }

    fn err(text: &str) -> String {
        let (_dir, path) = write(text);
        let e = load(&path, Missing::Mask).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2, "{e}");
        e.to_string()
    }

    fn full(v: f32) -> Vec<Option<f32>> {
        vec![Some(v); TARGETS]
    }

    #[test]
    fn values_are_normalised_and_missing_is_masked() {
        let mut c = full(72.0);
        c[3] = None;
        let text = header() + &row(&c, "51") + &row(&full(24.0), "0");
        let (_dir, path) = write(&text);
        let d = load(&path, Missing::Mask).unwrap();
        assert_eq!(d.kind, "kaggle");
        assert_eq!((d.x.len(), d.y.len()), (2 * PIXELS, 2 * TARGETS));
        assert!(d.x[..PIXELS].iter().all(|&p| p == 51.0 / 255.0));
        assert!(d.x[PIXELS..].iter().all(|&p| p == 0.0));
        assert_eq!((d.y[0], d.y[3], d.mask[3], d.mask[4]), (0.5, 0.0, 0.0, 1.0));
        assert_eq!(d.y[TARGETS], -0.5);
    }

    /// Rows (k = the column left empty): complete, k=5, complete, k=0, k=0 and k=7.
    /// Column 0 is empty in the first row only in the ffill file below.
    #[test]
    fn mask_drop_and_ffill_count_rows_exactly() {
        let mut rows = [full(60.0), full(61.0), full(62.0), full(63.0), full(64.0)];
        rows[1][5] = None;
        rows[3][0] = None;
        rows[4][0] = None;
        rows[4][7] = None;
        let text = header() + &rows.iter().map(|c| row(c, "9")).collect::<String>();
        let (_dir, path) = write(&text);

        let m = load(&path, Missing::Mask).unwrap();
        assert_eq!(
            (m.len(TARGETS), m.mask.iter().sum::<f32>()),
            (5, 150.0 - 4.0)
        );

        let d = load(&path, Missing::Drop).unwrap();
        assert_eq!(d.len(TARGETS), 2);
        assert_eq!((d.y[0], d.y[TARGETS]), (m.y[0], m.y[2 * TARGETS]));
        assert!(d.mask.iter().all(|&v| v == 1.0));

        let f = load(&path, Missing::Ffill).unwrap();
        assert_eq!(f.len(TARGETS), 5);
        assert!(f.mask.iter().all(|&v| v == 1.0));
        assert_eq!(f.y[TARGETS + 5], m.y[5]); // row 1 takes row 0's value
        assert_eq!(f.y[3 * TARGETS], m.y[2 * TARGETS]); // row 3 takes row 2's
        assert_eq!(f.y[4 * TARGETS], m.y[2 * TARGETS]); // and so does row 4
        assert_eq!(f.y[4 * TARGETS + 7], m.y[3 * TARGETS + 7]);

        // A column empty from the first row on has nothing to copy: it stays masked.
        let mut first = full(50.0);
        first[2] = None;
        let mut second = full(51.0);
        second[2] = None;
        let (_dir2, path2) = write(&(header() + &row(&first, "1") + &row(&second, "1")));
        let f = load(&path2, Missing::Ffill).unwrap();
        assert_eq!(
            (f.mask[2], f.mask[TARGETS + 2], f.mask.iter().sum::<f32>()),
            (0.0, 0.0, 58.0)
        );
        assert!(
            load(&path2, Missing::Drop)
                .unwrap_err()
                .to_string()
                .contains("no row")
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes read as training.csv: rows, or an error naming the file (exit 2).
        #[test]
        fn fuzz_any_bytes_load_or_fail_cleanly(
            bytes in crate::fuzz::inputs("kaggle"),
            how in 0..3usize,
        ) {
            let (_dir, path) = write("");
            std::fs::write(&path, &bytes).unwrap();
            let missing = [Missing::Mask, Missing::Drop, Missing::Ffill][how];
            if let Err(e) = load(&path, missing) {
                proptest::prop_assert_eq!(crate::error::exit_code(&e), 2, "{:#}", e);
                let name = path.display().to_string();
                proptest::prop_assert!(e.to_string().starts_with(&name), "{}", e);
            }
        }
    }

    #[test]
    fn megabytes_of_short_lines_are_refused_without_reserving_rows_for_them() {
        // 8 MiB of one-byte lines would be 4 M rows of 36 KiB each if space came first.
        let text = header() + &row(&full(48.0), "1") + &"1\n".repeat(4 << 20);
        let e = err(&text);
        assert!(e.ends_with("training.csv:3: 1 fields, expected 31 (30 keypoint coordinates, then Image)"), "{e}");
        // A short line after a bad long one: the first bad line is named.
        let text = header() + &row_with(4, "x") + "1\n";
        assert!(err(&text).contains("training.csv:2: field 5"), "{}", err(&text));
    }

    #[test]
    fn quotes_crlf_bom_blank_lines_and_space_runs_are_accepted() {
        let quoted = format!("\"{}\"", image("7").replace(' ', "  "));
        let coords = vec!["\"48\"".to_string(); TARGETS].join(",");
        let text = format!(
            "\u{feff}{}\r\n{coords},{quoted}\r\n\r\n{}",
            COLUMNS.join(","),
            row(&full(48.0), "7").trim_end()
        );
        let (_dir, path) = write(&text);
        let d = load(&path, Missing::Mask).unwrap();
        assert_eq!(d.len(TARGETS), 2);
        assert_eq!(d.x[..PIXELS], d.x[PIXELS..]);
        assert!(d.y.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn rows_across_chunk_boundaries_keep_their_line_numbers() {
        // ≈ 18.4 KB per row, so 2000 rows span three 16 MiB chunks.
        let r = row(&full(48.0), "1");
        let mut text = header() + &r.repeat(1999);
        text += &row(&full(48.0), "1").replace(" 1\n", " 256\n");
        let msg = err(&text);
        assert!(
            msg.contains("training.csv:2001: field 31 (Image) value 9216 is \"256\""),
            "{msg}"
        );
        let (_dir, path) = write(&(header() + &r.repeat(2000)));
        assert_eq!(load(&path, Missing::Mask).unwrap().len(TARGETS), 2000);
    }

    #[test]
    fn every_bad_input_names_file_line_and_what() {
        let good = row_with(0, "48");
        let cases = [
            (String::new(), "training.csv: the file is empty"),
            (header(), "training.csv: no data rows"),
            (
                header().replace("nose_tip_x", "nose_x"),
                "training.csv:1: header column 21 is \"nose_x\", expected \"nose_tip_x\"",
            ),
            (
                "ImageId,Image\n".to_string(),
                "training.csv:1: the header has 2 columns",
            ),
            (
                header() + &good + &good.replacen("48,", "", 1),
                "training.csv:3: 30 fields, expected 31",
            ),
            (
                header() + &good.replacen("48,", "48,48,", 1),
                "training.csv:2: 32 fields",
            ),
            (
                header() + &row_with(3, "abc"),
                "training.csv:2: field 4 (right_eye_center_y) is \"abc\", not a number",
            ),
            (
                header() + &row_with(0, "nan"),
                "field 1 (left_eye_center_x) is \"nan\", not a number",
            ),
            (
                header() + &good.replacen(" 3", "", 1),
                "training.csv:2: field 31 (Image) has 9215 values, expected 9216",
            ),
            (
                header() + &good.replacen(" 3", " 3 3", 1),
                "has 9217 values",
            ),
            (
                header() + &good.replacen(" 3", " 256", 1),
                "training.csv:2: field 31 (Image) value 2 is \"256\", outside 0..=255",
            ),
            (
                header() + &good.replacen(" 3", " 1.5", 1),
                "training.csv:2: field 31 (Image) value 2 is \"1.5\", not an integer",
            ),
            (
                header() + &good.replacen(" 3", " -1", 1),
                "value 2 is \"-1\", not an integer",
            ),
            (
                header() + &good.replacen(" 3", " 99999999999", 1),
                "value 2 is \"99999999999\", outside",
            ),
            (
                header() + &good.replacen(" 3", " 0007", 1),
                "value 2 is \"0007\", more than 3 digits",
            ),
        ];
        for (text, want) in cases {
            let msg = err(&text);
            assert!(msg.contains(want), "{msg:?} lacks {want:?}");
        }
        let e = load(Path::new("/nonexistent/training.csv"), Missing::Mask).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/training.csv: cannot read"),
            "{e}"
        );
    }

    #[test]
    fn flip_mirrors_pixels_and_swaps_sides() {
        let mut img: Vec<f32> = (0..PIXELS).map(|i| i as f32).collect();
        let mut t: Vec<f32> = (0..TARGETS).map(|i| i as f32 / 100.0).collect();
        let mut m = vec![1.0; TARGETS];
        m[2] = 0.0; // right_eye_center_x missing: it becomes left_eye_center_x
        flip(&mut img, &mut t, &mut m);
        assert_eq!((img[0], img[95], img[96]), (95.0, 0.0, 191.0));
        assert_eq!(
            (t[0], t[1], t[2], t[20], t[21]),
            (-0.02, 0.03, -0.0, -0.2, 0.21)
        );
        assert_eq!((m[0], m[2]), (0.0, 1.0));
        let (mut i2, mut t2, mut m2) = (img.clone(), t.clone(), m.clone());
        flip(&mut i2, &mut t2, &mut m2);
        assert_eq!(i2, (0..PIXELS).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(
            t2,
            (0..TARGETS).map(|i| i as f32 / 100.0).collect::<Vec<_>>()
        );
    }
}
