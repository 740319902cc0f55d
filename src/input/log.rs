//! A mail log opened for streaming: a file or standard input, gzip-compressed or not (told by its first two bytes, so a rotated `mail.log.2.gz` and a renamed one both read). The only user of flate2.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::time::SystemTime;

/// gzip's magic number (RFC 1952 §2.3.1: ID1 = 31, ID2 = 139).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Read buffer: 256 KiB keeps a 200 MB/s reader at under a thousand reads a second.
const BUFFER: usize = 256 * 1024;

/// An opened log and when it was last written (for the year of RFC 3164 dates).
pub struct LogStream {
    pub reader: Box<dyn BufRead>,
    pub modified: Option<SystemTime>,
    pub compressed: bool,
}

/// Opens `path` (any readable kind: a pipe from `<(zcat ...)` too; the line reader's caps
/// bound what it costs).
pub fn open_log(path: &Path) -> io::Result<LogStream> {
    let file = File::open(path)?;
    let modified = file.metadata().and_then(|m| m.modified()).ok();
    let mut stream = log_stream(BufReader::with_capacity(BUFFER, file))?;
    stream.modified = modified;
    Ok(stream)
}

/// Wraps `reader` (standard input, an opened file), decompressing it when it starts with
/// gzip's magic number; several gzip members one after the other (`cat a.gz b.gz`) read as
/// one stream.
pub fn log_stream<R: BufRead + 'static>(mut reader: R) -> io::Result<LogStream> {
    let head = reader.fill_buf()?;
    let compressed = head.starts_with(&GZIP_MAGIC);
    let reader: Box<dyn BufRead> = if compressed {
        let decoder = flate2::bufread::MultiGzDecoder::new(reader);
        Box::new(BufReader::with_capacity(BUFFER, decoder))
    } else {
        Box::new(reader)
    };
    Ok(LogStream {
        reader,
        modified: None,
        compressed,
    })
}

/// Reads and drops the rest of a line (after a line over the cap), up to and including its
/// `\n`, without holding more than the reader's buffer.
pub fn skip_line(reader: &mut dyn BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(at) = buf.iter().position(|&b| b == b'\n') {
            reader.consume(at + 1);
            return Ok(());
        }
        let n = buf.len();
        reader.consume(n);
    }
}

/// Bytes read through a reader (for the benchmark's MB/s on compressed input).
pub struct Counted<R> {
    pub inner: R,
    pub bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)]
    use super::*;
    use std::io::Write;

    #[test]
    fn plain_and_gzip_read_alike() {
        let text = b"Dec 07 05:13:12 mx postfix/smtpd[1]: connect from a[192.0.2.1]\nsecond\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        let packed = gz.finish().unwrap();
        // Two members one after the other read as one stream.
        let twice = [packed.clone(), packed].concat();
        for (input, compressed, want) in [
            (text.to_vec(), false, text.to_vec()),
            (twice, true, [text.as_slice(), text].concat()),
        ] {
            let mut s = log_stream(io::Cursor::new(input)).unwrap();
            assert_eq!(s.compressed, compressed);
            let mut out = Vec::new();
            s.reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, want);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.log");
        std::fs::write(&path, text).unwrap();
        let s = open_log(&path).unwrap();
        assert!(s.modified.is_some() && !s.compressed);
    }

    #[test]
    fn skip_line_stops_after_the_newline() {
        let mut r =
            io::BufReader::with_capacity(4, io::Cursor::new(b"0123456789\nnext\n".to_vec()));
        skip_line(&mut r).unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "next\n");
    }
}
