//! A row cut short (a writer killed mid-write, a full disk, a copy cut off) must not take the
//! next row with it: glued together, the two make one line that no reader accepts. Before each
//! append the file's last row is checked, and a torn one is moved aside to `PATH.torn`.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Where the torn rows of `path` are kept, so nothing written is thrown away.
pub fn torn_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".torn");
    PathBuf::from(name)
}

/// Cuts a torn last row off `file` (opened for reading, locked) into [`torn_path`] and returns
/// the length the file has then. A row is torn when the file does not end in a line break or
/// the row has another number of fields than the header; a header without its line break is a
/// torn first write, so the whole file goes.
pub fn torn_tail(path: &Path, file: &mut File) -> Result<u64> {
    let len = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len == 0 {
        return Ok(0);
    }
    let Some(cut) = torn_at(file, len).with_context(|| format!("reading {}", path.display()))?
    else {
        return Ok(len);
    };
    let mut torn = Vec::new();
    file.seek(SeekFrom::Start(cut.byte))
        .and_then(|_| file.take(len - cut.byte).read_to_end(&mut torn))
        .with_context(|| format!("reading {}", path.display()))?;
    if !torn.ends_with(b"\n") {
        torn.push(b'\n');
    }
    let aside = torn_path(path);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&aside)
        .and_then(|mut f| f.write_all(&torn).and_then(|()| f.sync_data()))
        .with_context(|| format!("keeping a torn row in {}", aside.display()))?;
    file.set_len(cut.byte)
        .with_context(|| format!("cutting the torn row off {}", path.display()))?;
    eprintln!(
        "warning: {}:{}: the last row was cut short (a killed writer or a full disk); moved \
         its {} bytes to {}",
        path.display(),
        cut.line,
        len - cut.byte,
        aside.display()
    );
    Ok(cut.byte)
}

/// Where a torn last row starts: its byte offset and line.
struct Cut {
    byte: u64,
    line: u64,
}

fn torn_at(file: &mut File, len: u64) -> std::io::Result<Option<Cut>> {
    let mut last_byte = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last_byte)?;
    let ends_whole = last_byte[0] == b'\n';
    file.seek(SeekFrom::Start(0))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::new(file.take(len)));
    let mut record = csv::ByteRecord::new();
    let (mut fields, mut rows) = (0, 0u64);
    let mut last = Cut { byte: 0, line: 1 };
    let mut last_fields = 0;
    loop {
        let at = reader.position().clone();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(std::io::Error::other(e)),
        }
        if rows == 0 {
            fields = record.len();
        }
        rows += 1;
        last = Cut {
            byte: at.byte(),
            line: at.line(),
        };
        last_fields = record.len();
    }
    // A whole record has its quotes in pairs (a quote inside a field is doubled); an odd count
    // is a quoted field cut short, though its line break made the fields look complete.
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(last.byte))?;
    file.take(len - last.byte).read_to_end(&mut tail)?;
    let open_quote = tail.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    let torn = !ends_whole || open_quote || (rows > 1 && last_fields != fields);
    Ok(torn.then_some(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` as a file, repaired; the text left and the text moved aside.
    fn repaired(text: &str) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.csv");
        std::fs::write(&path, text).unwrap();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        let left = torn_tail(&path, &mut file).unwrap();
        let kept = std::fs::read_to_string(&path).unwrap();
        assert_eq!(left, kept.len() as u64);
        let aside = std::fs::read_to_string(torn_path(&path)).unwrap_or_default();
        (kept, aside)
    }

    #[test]
    fn a_whole_file_is_left_alone() {
        let text = "a,b\n1,\"x\ny\"\n2,3\n";
        assert_eq!(repaired(text), (text.into(), String::new()));
        assert_eq!(repaired(""), (String::new(), String::new()));
    }

    #[test]
    fn a_row_cut_short_is_moved_aside() {
        // Cut mid-row, cut inside a quoted line break, cut just before the last line break.
        for (text, torn) in [
            ("a,b\n1,2\n3", "3\n"),
            ("a,b\n1,2\n3,\"x\n", "3,\"x\n"),
            ("a,b\n1,2\n3,4", "3,4\n"),
            ("a,b\n1,2\n3,4,5\n", "3,4,5\n"),
        ] {
            assert_eq!(
                repaired(text),
                ("a,b\n1,2\n".into(), torn.into()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_header_cut_short_moves_the_whole_file() {
        assert_eq!(
            repaired("schema_ver"),
            (String::new(), "schema_ver\n".into())
        );
        assert_eq!(repaired("a,b\n"), ("a,b\n".into(), String::new()));
    }
}
