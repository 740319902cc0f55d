//! Fuzz target: JSONL report bytes read by the bounded line reader and each line parsed as a record (`report::read::parse_line`), as `report`, `merge`, `diff` and `--resume` read them.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use relayscan::input::{LineError, LineReader};
use relayscan::report::read::parse_line;

fuzz_target!(|data: &[u8]| {
    // A small cap reaches the refusal often; the larger one lets whole records through.
    for cap in [48, 64 * 1024] {
        let mut lines = LineReader::new(Cursor::new(data), cap);
        let mut expected_number = 1;
        loop {
            match lines.next_line() {
                Ok(Some(line)) => {
                    assert_eq!(line.number, expected_number);
                    expected_number += 1;
                    assert!(line.bytes.len() <= cap, "{} > {cap}", line.bytes.len());
                    // A line is the bytes at its offset: nothing lost, nothing invented.
                    let start = line.offset as usize;
                    assert_eq!(&data[start..start + line.bytes.len()], line.bytes);
                    if let Ok(text) = line.text() {
                        let _ = parse_line(text);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(matches!(e, LineError::TooLong { .. }), "{e}");
                    assert_eq!(e.number(), expected_number);
                    break;
                }
            }
        }
    }
});
