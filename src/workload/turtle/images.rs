//! Sea-turtle face / no-face crops, 198×198 RGB, from either of two layouts:
//!
//! - the seed's crops, `DIR/face/*` and `DIR/noface/*` (kind `crops`);
//! - Kaggle's raw sea-turtle set, `DIR/images/*` with YOLO `DIR/labels/<stem>.txt` or, when
//!   there is no `labels/`, the headerless `DIR/labels.csv` (kind `yolo`). Each box gives a face
//!   crop (squared about its centre, mirrored past the image border) and each image one no-face
//!   crop placed at random (by seed and file name) clear of every box.
//!
//! Images are `.jpg`, `.jpeg` or `.png` in any case, taken in file-name order and decoded in
//! parallel; RGBA and gray become RGB. An image that cannot be decoded fails the load, or with
//! `skip_bad` is left out and counted. A malformed label is always an error: the labels are the
//! dataset, and silently dropping one would change what is measured.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use image::imageops::{FilterType, resize};
use image::{GenericImageView, ImageReader, Limits, Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::SIDE;
use crate::error::{InputError, input};
use crate::workload::data::{Dataset, UNIT, unreadable};

const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];
/// No-face squares smaller than this are not worth scaling up to 198.
const MIN_NOFACE: u32 = 16;
const TRIES: usize = 64;
/// The widest or tallest image decoded: Kaggle's are at most 5616 px; a larger one is refused
/// before its pixels are allocated (with `--skip-bad`, skipped).
const MAX_SIDE: u32 = 16384;

/// A box in fractions of the image: centre and size.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bbox {
    cx: f64,
    cy: f64,
    w: f64,
    h: f64,
}

struct Sample {
    rgb: RgbImage,
    face: bool,
}

/// Loads the crops under `dir` as `3 × 198 × 198` images, y = 1 for a face and 0 for none.
pub fn load(dir: &Path, seed: u64, skip_bad: bool) -> Result<Dataset> {
    if !dir.is_dir() {
        return Err(unreadable(dir, "not a directory"));
    }
    let has = |p: &str| dir.join(p).is_dir();
    if has("face") && has("noface") {
        crops(dir, skip_bad)
    } else if has("images") && has("labels") {
        let images = images_in(&dir.join("images"))?;
        let boxes = images
            .iter()
            .map(|p| yolo_labels(&dir.join("labels").join(format!("{}.txt", stem(p)))))
            .collect::<Result<Vec<_>>>()?;
        cut_all(dir, &images, &boxes, seed, skip_bad)
    } else if has("images") && dir.join("labels.csv").is_file() {
        let images = images_in(&dir.join("images"))?;
        let boxes = csv_labels(&dir.join("labels.csv"), &images)?;
        cut_all(dir, &images, &boxes, seed, skip_bad)
    } else {
        input(format!(
            "{}: not a turtle dataset; expected face/ and noface/ (198×198 crops), or images/ \
             with labels/*.txt (YOLO) or labels.csv (Kaggle sea-turtle faces)",
            dir.display()
        ))
    }
}

fn crops(dir: &Path, skip_bad: bool) -> Result<Dataset> {
    let mut files = Vec::new();
    for (class, face) in [("face", true), ("noface", false)] {
        files.extend(images_in(&dir.join(class))?.into_iter().map(|p| (p, face)));
    }
    let samples: Vec<Result<_>> = files
        .par_iter()
        .map(|(path, face)| {
            let Some(rgb) = decode(path, skip_bad)? else {
                return Ok(None);
            };
            if rgb.dimensions() != (SIDE as u32, SIDE as u32) {
                let (w, h) = rgb.dimensions();
                let p = path.display();
                return input(format!(
                    "{p}: the image is {w}×{h}, expected a 198×198 crop"
                ));
            }
            Ok(Some(vec![Sample { rgb, face: *face }]))
        })
        .collect();
    to_dataset(dir, samples, "crops")
}

/// Cuts the face and no-face crops of every image, in parallel.
fn cut_all(
    dir: &Path,
    images: &[PathBuf],
    boxes: &[Vec<Bbox>],
    seed: u64,
    skip: bool,
) -> Result<Dataset> {
    let samples: Vec<Result<_>> = images
        .par_iter()
        .zip(boxes)
        .map(|(path, boxes)| {
            if boxes.is_empty() {
                return Ok(Some(Vec::new()));
            }
            let Some(img) = decode(path, skip)? else {
                return Ok(None);
            };
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let hash = Sha256::digest(name.as_bytes());
            let salt = u64::from_le_bytes(hash[..8].try_into().expect("8 bytes"));
            Ok(Some(cut(
                &img,
                boxes,
                &mut StdRng::seed_from_u64(seed ^ salt),
            )))
        })
        .collect();
    to_dataset(dir, samples, "yolo")
}

/// One face crop per box and, where there is room, one no-face crop.
fn cut(img: &RgbImage, boxes: &[Bbox], rng: &mut StdRng) -> Vec<Sample> {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let px: Vec<[f64; 4]> = boxes
        .iter()
        .map(|b| {
            [
                (b.cx - b.w / 2.0) * w,
                (b.cy - b.h / 2.0) * h,
                b.w * w,
                b.h * h,
            ]
        })
        .collect();
    let mut out: Vec<Sample> = px
        .iter()
        .map(|&[x, y, bw, bh]| {
            let side = bw.max(bh);
            let (x0, y0) = (x + bw / 2.0 - side / 2.0, y + bh / 2.0 - side / 2.0);
            let rgb = square(
                img,
                x0.round() as i64,
                y0.round() as i64,
                side.round().max(1.0) as u32,
            );
            Sample { rgb, face: true }
        })
        .collect();
    let largest = px.iter().map(|b| b[2].max(b[3])).fold(0.0, f64::max);
    if let Some((x, y, s)) = free_square(img.width(), img.height(), &px, largest, rng) {
        out.push(Sample {
            rgb: square(img, i64::from(x), i64::from(y), s),
            face: false,
        });
    }
    out
}

/// A square of side `want` (or smaller, down to [`MIN_NOFACE`]) at a random place that
/// overlaps no box; `None` when random tries find no room.
fn free_square(
    w: u32,
    h: u32,
    boxes: &[[f64; 4]],
    want: f64,
    rng: &mut StdRng,
) -> Option<(u32, u32, u32)> {
    let mut side = (want.round() as u32).min(w).min(h);
    while side >= MIN_NOFACE {
        for _ in 0..TRIES {
            let (x, y) = (
                rng.random_range(0..=w - side),
                rng.random_range(0..=h - side),
            );
            let (x0, y0, s) = (f64::from(x), f64::from(y), f64::from(side));
            let clear = boxes.iter().all(|&[bx, by, bw, bh]| {
                x0 >= bx + bw || x0 + s <= bx || y0 >= by + bh || y0 + s <= by
            });
            if clear {
                return Some((x, y, side));
            }
        }
        side = side * 3 / 4;
    }
    None
}

/// The `side × side` square at (x0, y0), mirrored where it leaves the image (numpy's
/// `reflect` padding, as the seed used), resized to 198×198. The square is read through a view,
/// never copied out: a thin image's box makes a square as wide as the image is long.
fn square(img: &RgbImage, x0: i64, y0: i64, side: u32) -> RgbImage {
    let view = Square { img, x0, y0, side };
    resize(&view, SIDE as u32, SIDE as u32, FilterType::Triangle)
}

/// A square of an image, mirrored past its border.
struct Square<'a> {
    img: &'a RgbImage,
    x0: i64,
    y0: i64,
    side: u32,
}

impl GenericImageView for Square<'_> {
    type Pixel = Rgb<u8>;

    fn dimensions(&self) -> (u32, u32) {
        (self.side, self.side)
    }

    fn get_pixel(&self, x: u32, y: u32) -> Rgb<u8> {
        let reflect = |i: i64, n: u32| -> u32 {
            let n = i64::from(n);
            if n == 1 {
                return 0;
            }
            let m = i.rem_euclid(2 * (n - 1));
            (if m < n { m } else { 2 * (n - 1) - m }) as u32
        };
        *self.img.get_pixel(
            reflect(self.x0 + i64::from(x), self.img.width()),
            reflect(self.y0 + i64::from(y), self.img.height()),
        )
    }
}

/// The file-name-sorted `.jpg`, `.jpeg` and `.png` files of `dir`; none is an error.
fn images_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))? {
        let path = entry.map_err(|e| unreadable(dir, e))?.path();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if path.is_file() && ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str())) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return input(format!("{}: no .jpg, .jpeg or .png images", dir.display()));
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// The image as RGB; `None` for an undecodable one when `skip_bad`.
fn decode(path: &Path, skip_bad: bool) -> Result<Option<RgbImage>> {
    let img = ImageReader::open(path)
        .and_then(ImageReader::with_guessed_format)
        .map_err(image::ImageError::from)
        .and_then(|mut r| {
            let mut limits = Limits::default();
            limits.max_image_width = Some(MAX_SIDE);
            limits.max_image_height = Some(MAX_SIDE);
            r.limits(limits);
            r.decode()
        });
    match img {
        Ok(img) => Ok(Some(img.to_rgb8())),
        Err(_) if skip_bad => Ok(None),
        Err(e) => input(format!(
            "{}: cannot decode the image: {e} (--skip-bad leaves such images out)",
            path.display()
        )),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The boxes of one image's YOLO file, `class cx cy w h` a line in fractions of the image; a
/// missing file means no boxes (YOLO's background image), and such images give no crops.
fn yolo_labels(path: &Path) -> Result<Vec<Bbox>> {
    let text = match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.map_err(|e| unreadable(path, e))?,
    };
    let mut boxes = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = || format!("{}:{}", path.display(), i + 1);
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        let [class, cx, cy, w, h] = f[..] else {
            return input(format!(
                "{}: expected \"class cx cy w h\", got {line:?}",
                at()
            ));
        };
        if class.parse::<u32>().is_err() {
            return input(format!("{}: class is {class:?}, not a class number", at()));
        }
        let b = Bbox {
            cx: number(&at, "cx", cx, 0.0..=1.0)?,
            cy: number(&at, "cy", cy, 0.0..=1.0)?,
            w: positive(&at, "w", number(&at, "w", w, 0.0..=1.0)?)?,
            h: positive(&at, "h", number(&at, "h", h, 0.0..=1.0)?)?,
        };
        boxes.push(b);
    }
    Ok(boxes)
}

/// Boxes from Kaggle's headerless `labels.csv`,
/// `species,x,y,w,h,filename,image_width,image_height` with (x, y) the top-left corner in
/// pixels, matched to images by file stem (the CSV and the files disagree on extensions).
fn csv_labels(path: &Path, images: &[PathBuf]) -> Result<Vec<Vec<Bbox>>> {
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(path, e))?;
    let index: HashMap<String, usize> = images
        .iter()
        .enumerate()
        .map(|(i, p)| (stem(p), i))
        .collect();
    let mut boxes = vec![Vec::new(); images.len()];
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if line.trim().is_empty() || (i == 0 && f.get(5) == Some(&"filename")) {
            continue;
        }
        let at = || format!("{}:{}", path.display(), i + 1);
        let [_, x, y, w, h, file, iw, ih] = f[..] else {
            let n = f.len();
            return input(format!(
                "{}: {n} fields, expected 8 (species,x,y,w,h,filename,image_width,image_height)",
                at()
            ));
        };
        let any = f64::MIN..=f64::MAX;
        let [x, y] = [("x", x), ("y", y)].map(|(n, v)| number(&at, n, v, any.clone()));
        let [w, h, iw, ih] = [
            ("w", w),
            ("h", h),
            ("image_width", iw),
            ("image_height", ih),
        ]
        .map(|(n, v)| number(&at, n, v, any.clone()).and_then(|v| positive(&at, n, v)));
        let (x, y, w, h, iw, ih) = (x?, y?, w?, h?, iw?, ih?);
        let key = stem(Path::new(file));
        let Some(&k) = index.get(&key) else {
            let dir = images[0].parent().unwrap_or(Path::new("")).display();
            return input(format!("{}: {file:?} is not in {dir}", at()));
        };
        let b = Bbox {
            cx: (x + w / 2.0) / iw,
            cy: (y + h / 2.0) / ih,
            w: w / iw,
            h: h / ih,
        };
        // The same bounds as YOLO's: centre in the image, no larger than it.
        if ![b.cx, b.cy, b.w, b.h]
            .iter()
            .all(|v| (0.0..=1.0).contains(v))
        {
            return input(format!(
                "{}: the box x={x} y={y} w={w} h={h} does not fit a {iw}×{ih} image",
                at()
            ));
        }
        boxes[k].push(b);
    }
    Ok(boxes)
}

fn number(
    at: &dyn Fn() -> String,
    name: &str,
    text: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<f64> {
    match text.parse::<f64>() {
        Ok(v) if range.contains(&v) => Ok(v),
        Ok(v) => input(format!(
            "{}: {name} is {v}, outside {}..={}",
            at(),
            range.start(),
            range.end()
        )),
        Err(_) => input(format!("{}: {name} is {text:?}, not a number", at())),
    }
}

fn positive(at: &dyn Fn() -> String, name: &str, v: f64) -> Result<f64> {
    if v > 0.0 {
        Ok(v)
    } else {
        input(format!("{}: {name} is {v}, not positive", at()))
    }
}

/// Flattens the per-file samples into CHW floats: the first error in file order fails the
/// load, `None` entries are skipped files.
fn to_dataset(
    dir: &Path,
    per_file: Vec<Result<Option<Vec<Sample>>>>,
    kind: &'static str,
) -> Result<Dataset> {
    let per_file = per_file.into_iter().collect::<Result<Vec<_>>>()?;
    let skipped = per_file.iter().filter(|s| s.is_none()).count();
    let samples: Vec<Sample> = per_file.into_iter().flatten().flatten().collect();
    for (face, what) in [(true, "face"), (false, "no-face")] {
        if !samples.iter().any(|s| s.face == face) {
            let why = if skipped > 0 {
                format!(" ({skipped} unreadable images skipped)")
            } else {
                String::new()
            };
            return Err(InputError(format!("{}: no {what} crops{why}", dir.display())).into());
        }
    }
    let plane = SIDE * SIDE;
    let mut x = vec![0.0; samples.len() * 3 * plane];
    x.par_chunks_mut(3 * plane)
        .zip(&samples)
        .for_each(|(dst, s)| {
            for (i, p) in s.rgb.pixels().enumerate() {
                for c in 0..3 {
                    dst[c * plane + i] = UNIT[usize::from(p[c])];
                }
            }
        });
    Ok(Dataset {
        x,
        y: samples
            .iter()
            .map(|s| if s.face { 1.0 } else { 0.0 })
            .collect(),
        mask: vec![1.0; samples.len()],
        kind,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use crate::workload::synth;
    use super::*;
    use std::fs;

    fn err(dir: &Path, skip_bad: bool) -> String {
        let e = load(dir, 1, skip_bad).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2, "{e}");
        e.to_string()
    }

    fn has(msg: String, parts: &[&str]) {
        for p in parts {
            assert!(msg.contains(p), "{msg:?} lacks {p:?}");
        }
    }

    #[test]
    fn unknown_layouts_say_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        has(
            err(dir.path(), false),
            &[
                "not a turtle dataset",
                "face/",
                "noface/",
                "images/",
                "labels.csv",
            ],
        );
        fs::create_dir(dir.path().join("face")).unwrap();
        has(err(dir.path(), false), &["not a turtle dataset"]);
        has(
            err(&dir.path().join("nothing"), false),
            &["nothing: cannot read: not a directory"],
        );
    }

    #[test]
    fn corrupt_images_fail_or_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let s = synth::write(dir.path(), 8, 1, false).unwrap();
        let bad = s.crops.join("noface/noface_0002.png");
        fs::write(&bad, b"not a png").unwrap();
        has(
            err(&s.crops, false),
            &["noface_0002.png: cannot decode the image", "--skip-bad"],
        );
        let d = load(&s.crops, 1, true).unwrap();
        assert_eq!((d.skipped, d.len(1)), (1, 2 * s.crops_per_class - 1));

        let raw = s.raw.join("images/Image_2.png");
        fs::write(&raw, b"").unwrap();
        has(err(&s.raw, false), &["Image_2.png: cannot decode"]);
        assert_eq!(load(&s.raw, 1, true).unwrap().skipped, 1);
    }

    #[test]
    fn crops_of_another_size_or_an_empty_class_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = synth::write(dir.path(), 4, 1, false).unwrap();
        RgbImage::new(200, 150)
            .save(s.crops.join("face/big.png"))
            .unwrap();
        has(
            err(&s.crops, false),
            &["face/big.png: the image is 200×150, expected a 198×198 crop"],
        );
        fs::remove_file(s.crops.join("face/big.png")).unwrap();
        for f in fs::read_dir(s.crops.join("noface")).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
        fs::write(s.crops.join("noface/notes.txt"), "not an image").unwrap();
        has(
            err(&s.crops, false),
            &["noface: no .jpg, .jpeg or .png images"],
        );
        // Every no-face image unreadable and skipped: nothing of that class is left.
        fs::write(s.crops.join("noface/x.jpg"), b"junk").unwrap();
        has(
            err(&s.crops, true),
            &["no no-face crops (1 unreadable images skipped)"],
        );
    }

    #[test]
    fn malformed_yolo_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let s = synth::write(dir.path(), 4, 1, false).unwrap();
        let label = s.raw.join("labels/Image_1.txt");
        let cases = [
            (
                "0 0.5 0.5 0.2\n",
                ":1: expected \"class cx cy w h\", got \"0 0.5 0.5 0.2\"",
            ),
            (
                "0 0.5 0.5 0.2 0.2\n\nx 0.5 0.5 0.2 0.2\n",
                ":3: class is \"x\", not a class number",
            ),
            ("0 0.5 abc 0.2 0.2\n", ":1: cy is \"abc\", not a number"),
            ("0 0.5 0.5 1.5 0.2\n", ":1: w is 1.5, outside 0..=1"),
            ("0 0.5 0.5 0.2 0\n", ":1: h is 0, not positive"),
        ];
        for (text, want) in cases {
            fs::write(&label, text).unwrap();
            has(err(&s.raw, true), &["labels/Image_1.txt", want]);
        }
    }

    #[test]
    fn malformed_labels_csv_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let s = synth::write(dir.path(), 4, 1, false).unwrap();
        fs::remove_dir_all(s.raw.join("labels")).unwrap();
        let csv = s.raw.join("labels.csv");
        let good = fs::read_to_string(&csv).unwrap();
        let first = good.lines().next().unwrap().to_string();
        let header = "species,x,y,w,h,filename,image_width,image_height\n";
        assert_eq!(load(&s.raw, 1, false).unwrap(), {
            fs::write(&csv, format!("{header}{good}")).unwrap();
            load(&s.raw, 1, false).unwrap()
        });
        let cases = [
            (
                format!("{first}\nTurtle,1,2,3\n"),
                "labels.csv:2: 4 fields, expected 8",
            ),
            (
                format!("{first}\n{}\n", first.replacen(",", ",x", 1)),
                "labels.csv:2: x is \"x",
            ),
            (
                first.replace("Image_1", "Image_9") + "\n",
                "labels.csv:1: \"Image_9.jpg\" is not in",
            ),
            (
                "Turtle,10,10,-5,20,Image_1.jpg,300,200\n".into(),
                "labels.csv:1: w is -5, not positive",
            ),
            (
                "Turtle,10,10,5,20,Image_1.jpg,300\n".into(),
                "labels.csv:1: 7 fields",
            ),
            (
                "Turtle,10,10,500,20,Image_1.jpg,300,200\n".into(),
                "labels.csv:1: the box x=10 y=10 w=500 h=20 does not fit a 300×200 image",
            ),
        ];
        for (text, want) in cases {
            fs::write(&csv, text).unwrap();
            has(err(&s.raw, true), &[want]);
        }
    }

    /// An error of a label parser: bad input (exit 2) that names the file.
    fn clean(e: &anyhow::Error, path: &Path) -> Result<(), proptest::test_runner::TestCaseError> {
        proptest::prop_assert_eq!(crate::error::exit_code(e), 2, "{:#}", e);
        let name = path.display().to_string();
        proptest::prop_assert!(e.to_string().starts_with(&name), "{}", e);
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn fuzz_any_yolo_label_file_parses_or_fails_cleanly(
            bytes in crate::fuzz::inputs("yolo"),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("Image_1.txt");
            fs::write(&path, &bytes).unwrap();
            match yolo_labels(&path) {
                Ok(boxes) => {
                    for b in boxes {
                        let fits = [b.cx, b.cy, b.w, b.h].iter().all(|v| (0.0..=1.0).contains(v));
                        proptest::prop_assert!(fits && b.w > 0.0 && b.h > 0.0, "{:?}", b);
                    }
                }
                Err(e) => clean(&e, &path)?,
            }
        }

        #[test]
        fn fuzz_any_labels_csv_parses_or_fails_cleanly(
            bytes in crate::fuzz::inputs("labels_csv"),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("labels.csv");
            fs::write(&path, &bytes).unwrap();
            let images = ["Image_1.jpg", "Image_2.png"].map(|f| dir.path().join("images").join(f));
            match csv_labels(&path, &images) {
                Ok(boxes) => proptest::prop_assert_eq!(boxes.len(), 2),
                Err(e) => clean(&e, &path)?,
            }
        }
    }

    #[test]
    fn an_image_too_large_to_crop_is_refused_or_skipped_before_it_is_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let s = synth::write(dir.path(), 4, 1, false).unwrap();
        // A few hundred bytes of PNG whose full-height box would be a 20000 px square crop.
        for ext in ["jpg", "png"] {
            let _ = fs::remove_file(s.raw.join(format!("images/Image_1.{ext}")));
        }
        RgbImage::new(20000, 1)
            .save(s.raw.join("images/Image_1.png"))
            .unwrap();
        fs::write(s.raw.join("labels/Image_1.txt"), "0 0.5 0.5 1 1\n").unwrap();
        has(
            err(&s.raw, false),
            &["images/Image_1.png: cannot decode the image", "--skip-bad"],
        );
        assert_eq!(load(&s.raw, 1, true).unwrap().skipped, 1);
    }

    #[test]
    fn no_face_squares_avoid_every_box_or_are_not_cut() {
        let mut r = StdRng::seed_from_u64(1);
        let boxes = [[10.0, 10.0, 50.0, 40.0], [200.0, 100.0, 60.0, 60.0]];
        for _ in 0..200 {
            let (x, y, s) = free_square(300, 200, &boxes, 60.0, &mut r).unwrap();
            assert!(s <= 60 && x + s <= 300 && y + s <= 200);
            let (x, y, s) = (f64::from(x), f64::from(y), f64::from(s));
            for [bx, by, bw, bh] in boxes {
                assert!(x >= bx + bw || x + s <= bx || y >= by + bh || y + s <= by);
            }
        }
        assert_eq!(
            free_square(100, 100, &[[0.0, 0.0, 100.0, 100.0]], 50.0, &mut r),
            None
        );
    }

    #[test]
    fn squares_past_the_border_are_mirrored() {
        let img = RgbImage::from_fn(4, 3, |x, y| image::Rgb([x as u8, y as u8, 0]));
        // From (-2, -1), 8 wide: columns 2 1 0 1 2 3 2 1, rows 1 0 1 2 1 0 1 2.
        let out = square(&img, -2, -1, 8);
        assert_eq!(out.dimensions(), (198, 198));
        let at = |x: u32, y: u32| out.get_pixel(x * 198 / 8 + 12, y * 198 / 8 + 12).0;
        assert_eq!(
            [at(0, 0), at(2, 1), at(5, 3), at(7, 7)],
            [[2, 1, 0], [0, 0, 0], [3, 2, 0], [1, 2, 0]]
        );
    }
}
