//! The caps on whole files and on lines, and the rule that no other module opens an input file.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::boundary::rust_files;

/// What a reader gave for each line: (number, offset, text), or the error it stopped at.
type Read = Vec<Result<(usize, u64, String), String>>;

fn lines_of(text: &[u8], cap: usize) -> Read {
    let mut reader = LineReader::new(Cursor::new(text.to_vec()), cap);
    let mut out = Vec::new();
    loop {
        match reader.next_line() {
            Ok(Some(l)) => out.push(Ok((
                l.number,
                l.offset,
                String::from_utf8_lossy(l.bytes).into_owned(),
            ))),
            Ok(None) => return out,
            Err(e) => {
                out.push(Err(format!("{}: {e}", e.number())));
                return out;
            }
        }
    }
}

#[test]
fn lines_table() {
    let ok = |n: usize, o: u64, t: &str| Ok((n, o, t.to_string()));
    let too_long = |n: usize| {
        Err(format!(
            "{n}: line longer than 4 bytes, the cap on one line of this file"
        ))
    };
    let table: Vec<(&[u8], Read)> = vec![
        (b"", vec![]),
        (
            b"ab\n\ncd",
            vec![ok(1, 0, "ab"), ok(2, 3, ""), ok(3, 4, "cd")],
        ),
        // The line ending is not counted: four bytes and `\r\n` are within a cap of four.
        (b"abcd\r\nx\n", vec![ok(1, 0, "abcd"), ok(2, 6, "x")]),
        (b"abcd", vec![ok(1, 0, "abcd")]),
        (b"abcd\n", vec![ok(1, 0, "abcd")]),
        (b"ab\nabcde\nx\n", vec![ok(1, 0, "ab"), too_long(2)]),
        (b"abcde", vec![too_long(1)]),
        (b"abcd\rx\n", vec![too_long(1)]),
        (b"abcdefghijklmnop\n", vec![too_long(1)]),
    ];
    for (text, want) in table {
        assert_eq!(
            lines_of(text, 4),
            want,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn an_endless_line_is_refused_after_the_cap_not_read_whole() {
    // `repeat` never ends: a reader that looked for the newline first would never return.
    let endless = std::io::BufReader::new(std::io::repeat(b'x'));
    let mut reader = LineReader::new(endless, 1024);
    let e = reader.next_line().unwrap_err();
    assert!(
        matches!(
            e,
            LineError::TooLong {
                number: 1,
                cap: 1024
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("1 KiB (1024 bytes)"), "{e}");
}

#[test]
fn seek_to_reads_a_line_again_under_its_number() {
    let mut reader = LineReader::new(Cursor::new(b"one\ntwo\nthree\n".to_vec()), 16);
    let mut places = Vec::new();
    while let Some(l) = reader.next_line().unwrap() {
        places.push((l.offset, l.number));
    }
    assert_eq!(places, vec![(0, 1), (4, 2), (8, 3)]);
    reader.seek_to(4, 2).unwrap();
    let again = reader.next_line().unwrap().unwrap();
    assert_eq!(
        (again.number, again.offset, again.bytes),
        (2, 4, &b"two"[..])
    );
    assert_eq!(reader.next_line().unwrap().unwrap().number, 3);
}

#[test]
fn size_labels() {
    for (bytes, want) in [
        (16 * 1024 * 1024, "16 MiB (16777216 bytes)"),
        (64 * 1024, "64 KiB (65536 bytes)"),
        (1000, "1000 bytes"),
        (0, "0 bytes"),
    ] {
        assert_eq!(size_label(bytes), want);
    }
}

#[test]
fn whole_files_are_regular_capped_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.cf");
    std::fs::write(&path, "mynetworks = 127.0.0.0/8\n").unwrap();
    assert_eq!(
        read_text(&path, 1024).unwrap(),
        "mynetworks = 127.0.0.0/8\n"
    );
    // Exactly at the cap is fine; one byte over is refused, by its size on disk.
    assert_eq!(read_text(&path, 25).unwrap().len(), 25);
    let e = read_text(&path, 24).unwrap_err();
    assert!(e.is_refused(), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: larger than 24 bytes, the cap on one input file",
            path.display()
        )
    );
    // A sparse file over the real cap costs nothing to make and is refused unread.
    let big = dir.path().join("big.cf");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(MAX_INPUT_FILE_BYTES + 1).unwrap();
    let e = read_text(&big, MAX_INPUT_FILE_BYTES).unwrap_err();
    assert!(e.to_string().contains("16 MiB (16777216 bytes)"), "{e}");

    let binary = dir.path().join("bin");
    std::fs::write(&binary, b"a = \xff\n").unwrap();
    let e = read_text(&binary, 1024).unwrap_err();
    assert!(e.to_string().contains("not UTF-8 text"), "{e}");

    let missing = read_text(&dir.path().join("nope"), 1024).unwrap_err();
    assert!(missing.is_not_found() && !missing.is_refused(), "{missing}");
}

#[test]
fn devices_directories_and_fifos_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a directory entry.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let table = [
        (PathBuf::from("/dev/zero"), "a character device"),
        (PathBuf::from("/dev/urandom"), "a character device"),
        (dir.path().to_path_buf(), "a directory"),
        // No writer: a blocking open would wait here forever.
        (fifo, "a FIFO"),
    ];
    for (path, what) in table {
        let e = read_text(&path, MAX_INPUT_FILE_BYTES).unwrap_err();
        assert!(e.is_refused(), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "{}: not a regular file ({what}): relayscan reads only regular files",
                path.display()
            )
        );
    }
}

#[test]
fn a_stream_is_read_to_its_cap_and_no_further() {
    let mut endless = std::io::repeat(b'a');
    let e = read_text_from(&mut endless, "<stdin>", 1000).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<stdin>: larger than 1000 bytes, the cap on one input file"
    );
    let text = read_text_from(std::io::Read::take(&mut endless, 1000), "<stdin>", 1000).unwrap();
    assert_eq!(text.len(), 1000);
}

#[test]
fn a_meter_counts_only_while_on() {
    let meter = Meter::new(10);
    let mut reader = Metered::new(Cursor::new(vec![b'a'; 100]), meter.clone());
    let mut buf = [0u8; 40];
    // Off: anything goes.
    assert_eq!(std::io::Read::read(&mut reader, &mut buf).unwrap(), 40);
    meter.set(true);
    // On: ten bytes are allowed; the read that goes past them fails.
    let mut got = 0;
    let e = loop {
        match std::io::Read::read(&mut reader, &mut buf[..4]) {
            Ok(n) => got += n,
            Err(e) => break e,
        }
    };
    assert_eq!(got, 8);
    assert_eq!(
        e.to_string(),
        "its kept parts are larger than 10 bytes, the cap on them"
    );
    meter.set(false);
    assert_eq!(std::io::Read::read(&mut reader, &mut buf).unwrap(), 40);
}

/// Tokens by which a module reads a file (or a whole stream) itself.
const READS: &[&str] = &[
    "File::open",
    "fs::read(",
    "fs::read_to_string",
    "read_to_string(",
    "read_to_end(",
    ".read_line(",
    "read_until(",
    "BufReader::new",
];

/// Places allowed to use one of [`READS`], and why.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// The source of `path` without its test code: from the first inline `#[cfg(test)] mod name {`
/// on (test modules stand last), and whole files declared `#[cfg(test)] mod name;`.
fn non_test_source(path: &Path, test_files: &[PathBuf]) -> Option<String> {
    if test_files.iter().any(|t| t == path) {
        return None;
    }
    let text = std::fs::read_to_string(path).unwrap();
    let inline_test_module = |at: &usize| {
        let next = text[at + "#[cfg(test)]\n".len()..]
            .lines()
            .next()
            .unwrap_or("");
        next.contains("mod ") && next.trim_end().ends_with('{')
    };
    let end = text
        .match_indices("#[cfg(test)]\n")
        .map(|(at, _)| at)
        .find(inline_test_module)
        .unwrap_or(text.len());
    Some(text[..end].to_string())
}

/// Files declared `#[cfg(test)] mod name;`.
fn test_only_files(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            let declared = pair[1].trim_start_matches("pub(crate) ");
            let Some(name) = declared
                .strip_prefix("mod ")
                .and_then(|m| m.strip_suffix(';'))
            else {
                continue;
            };
            if pair[0].trim() != "#[cfg(test)]" {
                continue;
            }
            let dir = path.parent().unwrap();
            let stem = path.file_stem().unwrap();
            let base = if stem == "mod" || stem == "lib" {
                dir.to_path_buf()
            } else {
                dir.join(stem)
            };
            out.push(base.join(format!("{name}.rs")));
        }
    }
    out
}

#[test]
fn only_this_module_opens_input_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let test_files = test_only_files(&files);
    assert!(
        test_files.iter().any(|f| f.ends_with("input/tests.rs")),
        "{test_files:?}"
    );
    let mut offenders = Vec::new();
    let mut seen_here = false;
    for path in &files {
        let relative = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let Some(text) = non_test_source(path, &test_files) else {
            continue;
        };
        for token in READS {
            if !text.contains(token) {
                continue;
            }
            if relative.starts_with("input/") {
                seen_here = true;
                continue;
            }
            if ALLOWED
                .iter()
                .any(|(file, t, _)| *file == relative && t == token)
            {
                continue;
            }
            offenders.push(format!("{relative}: {token}"));
        }
    }
    assert!(
        offenders.is_empty(),
        "read input files through crate::input (read_text, LineReader), which caps them: {offenders:?}"
    );
    // The search sees this module's own reads, so an empty list above means something.
    assert!(seen_here);
}
