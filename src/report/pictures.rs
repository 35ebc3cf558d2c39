//! The pictures runs drew (the keypoint overlays), for the report: embedded in `report.html`
//! as data URIs, so the page stays one self-contained file of bounded size, and linked from
//! `report.md`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// The largest picture embedded; a larger one is linked only. An overlay of 16 faces is
/// about 100 kB.
pub const MAX_BYTES: u64 = 1 << 20;

/// The picture at `path` as a `data:image/png;base64,…` URI, or why it is not embedded.
pub fn data_uri(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let file = fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{shown}: {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("{shown} is larger than {} KiB", MAX_BYTES >> 10));
    }
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(format!("{shown} is not a PNG"));
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok(format!("data:image/png;base64,{b64}"))
}

/// `path` as `report.md` in `out` links it: relative when it lies under `out`, else absolute.
pub fn link(out: &Path, path: &Path) -> PathBuf {
    let (Ok(out), Ok(abs)) = (fs::canonicalize(out), fs::canonicalize(path)) else {
        return path.to_path_buf();
    };
    abs.strip_prefix(&out)
        .map_or(abs.clone(), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_is_embedded_and_anything_else_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("a.png");
        fs::write(&png, b"\x89PNG\r\n\x1a\nrest").unwrap();
        assert_eq!(
            data_uri(&png).unwrap(),
            "data:image/png;base64,iVBORw0KGgpyZXN0"
        );
        let txt = dir.path().join("a.txt");
        fs::write(&txt, b"hello").unwrap();
        assert!(data_uri(&txt).unwrap_err().ends_with("is not a PNG"));
        let big = dir.path().join("big.png");
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.resize(MAX_BYTES as usize + 1, 0);
        fs::write(&big, bytes).unwrap();
        assert!(data_uri(&big).unwrap_err().contains("larger than 1024 KiB"));
        assert!(data_uri(&dir.path().join("none.png")).is_err());
        assert_eq!(link(dir.path(), &png), PathBuf::from("a.png"));
    }
}
