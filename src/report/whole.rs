//! A report file that takes each record whole or not at all: after a failed write (disk full, I/O error) it is cut back to the end of its last whole record and refuses further writes.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// Bytes go to `pending` on `write` and reach the file on `flush`, in one `write_all`;
/// a failure truncates the file to what the last successful flush left, so a reader
/// never finds half a record (half a CSV row, half a JSON line) at the end.
#[derive(Debug)]
pub struct WholeWrites {
    file: File,
    pending: Vec<u8>,
    /// The file's length after the last whole record.
    good: u64,
    failed: bool,
}

impl WholeWrites {
    pub fn new(file: File) -> WholeWrites {
        WholeWrites {
            file,
            pending: Vec::new(),
            good: 0,
            failed: false,
        }
    }

    /// Writes `bytes` as one record.
    pub fn write_whole(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(bytes);
        self.flush()
    }

    pub fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn poisoned() -> io::Error {
        io::Error::other("an earlier write to this file failed; it ends at its last whole record")
    }
}

impl Write for WholeWrites {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(Self::poisoned());
        }
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            self.pending.clear();
            return Err(Self::poisoned());
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.pending);
        let len = self.pending.len() as u64;
        self.pending.clear();
        match result {
            Ok(()) => {
                self.good += len;
                Ok(())
            }
            Err(e) => {
                self.failed = true;
                // Best effort: shrinking needs no space, even on a full disk.
                let _ = self.file.set_len(self.good);
                let _ = self.file.seek(SeekFrom::Start(self.good));
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_records_then_a_failure_leaves_only_whole_records() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.jsonl");
        let mut w = WholeWrites::new(File::create(&path).expect("create"));
        w.write_whole(b"{\"a\":1}\n").expect("first");
        write!(w, "{{\"b\":").expect("buffered");
        writeln!(w, "2}}").expect("buffered");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            b"{\"a\":1}\n",
            "not yet flushed"
        );
        w.flush().expect("second");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            b"{\"a\":1}\n{\"b\":2}\n"
        );
    }

    #[test]
    fn a_full_device_cuts_back_to_the_last_whole_record() {
        // /dev/full takes no byte: every write fails with ENOSPC, so the "file" stays at
        // its last whole record (nothing) and refuses later writes.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return; // not Linux
        };
        let mut w = WholeWrites::new(full);
        let e = w.write_whole(b"row\n").expect_err("ENOSPC");
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
        let again = w.write_whole(b"row\n").expect_err("poisoned");
        assert!(again.to_string().contains("last whole record"), "{again}");
        assert!(w.write(b"x").is_err());
    }
}
