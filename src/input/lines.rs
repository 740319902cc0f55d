//! Reading a file line by line with a cap on one line: a line's length is checked while it is read, so a file without newlines costs at most the cap, never the whole file.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::file::size_label;

/// One line as read: its 1-based number, the byte offset where it starts, and its bytes
/// without the line ending (`\n` or `\r\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: usize,
    pub offset: u64,
    pub bytes: &'a [u8],
}

impl<'a> Line<'a> {
    /// The line as UTF-8 text.
    pub fn text(&self) -> Result<&'a str, std::str::Utf8Error> {
        std::str::from_utf8(self.bytes)
    }
}

/// A line that could not be read. The message names the problem; the caller puts the
/// file's name and [`LineError::number`] in front (`scan.jsonl:7: ...`).
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line longer than {}, the cap on one line of this file", size_label(*cap as u64))]
    TooLong { number: usize, cap: usize },
    #[error("cannot read: {cause}")]
    Io { number: usize, cause: io::Error },
}

impl LineError {
    /// The 1-based number of the line that failed.
    pub fn number(&self) -> usize {
        match self {
            LineError::TooLong { number, .. } | LineError::Io { number, .. } => *number,
        }
    }
}

/// Lines of at most `cap` bytes (line ending not counted) from `reader`, numbered from 1,
/// blank lines included. After an error the reader is mid-line: stop reading.
pub struct LineReader<R> {
    reader: R,
    cap: usize,
    /// Lines read so far: the number of the last one.
    number: usize,
    /// Bytes read so far: where the next line starts.
    offset: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(reader: R, cap: usize) -> LineReader<R> {
        LineReader {
            reader,
            cap,
            number: 0,
            offset: 0,
            buf: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, LineError> {
        self.buf.clear();
        let number = self.number + 1;
        // The longest line allowed, its `\r\n`, and nothing more: one byte past that
        // without a `\n` proves the line too long.
        let limit = self.cap as u64 + 2;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|cause| LineError::Io { number, cause })?;
        if read == 0 {
            return Ok(None);
        }
        let offset = self.offset;
        self.offset += read as u64;
        self.number = number;
        let mut bytes = self.buf.as_slice();
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        if bytes.len() > self.cap {
            return Err(LineError::TooLong {
                number,
                cap: self.cap,
            });
        }
        Ok(Some(Line {
            number,
            offset,
            bytes,
        }))
    }

    /// The cap this reader enforces.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The reader underneath (for its file's metadata).
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader underneath, to skip the rest of a line over the cap
    /// ([`super::skip_line`]) and read on.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }
}

impl LineReader<BufReader<File>> {
    /// Opens `path` (see [`super::open_stream`]) for lines of at most `cap` bytes.
    pub fn open(path: &Path, cap: usize) -> io::Result<Self> {
        Ok(LineReader::new(super::open_stream(path)?, cap))
    }

    /// Lines of at most `cap` bytes from a file already open (a temporary file of our
    /// own, read back from its current position).
    pub fn of_file(file: File, cap: usize) -> Self {
        LineReader::new(BufReader::new(file), cap)
    }
}

impl<R: BufRead + Seek> LineReader<R> {
    /// Goes to byte `offset`, where line `number` starts (as a [`Line`] reported them):
    /// the next line read is that one, numbered `number`.
    pub fn seek_to(&mut self, offset: u64, number: usize) -> io::Result<()> {
        self.reader.seek(SeekFrom::Start(offset))?;
        self.offset = offset;
        self.number = number.saturating_sub(1);
        Ok(())
    }
}
