//! One whole input file read as text: regular files only (never a device, a FIFO or a socket that never ends), at most a cap of bytes, UTF-8.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::Path;

/// The cap on one whole input file (main.cf, master.cf, a Sendmail file, a lookup table, a
/// checkpoint). Debian's packaged main.cf is 6 KiB and master.cf 7 KiB; a large access
/// table of 100,000 `key action` lines is about 4 MiB: 16 MiB leaves four times that and
/// still bounds what one file can cost.
pub const MAX_INPUT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why an input file was not read. Every message starts with the file's name.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{name}: cannot read: {cause}")]
    Io { name: String, cause: io::Error },
    #[error("{name}: not a regular file ({what}): relayscan reads only regular files")]
    NotRegular { name: String, what: &'static str },
    #[error(
        "{name}: larger than {}, the cap on one input file",
        size_label(*cap)
    )]
    TooLarge { name: String, cap: u64 },
    #[error("{name}: not UTF-8 text ({cause})")]
    NotText {
        name: String,
        cause: std::str::Utf8Error,
    },
}

impl FileError {
    /// The file does not exist (a table a configuration names may legitimately be absent).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io { cause, .. } if cause.kind() == io::ErrorKind::NotFound)
    }

    /// The file exists but was refused: not a regular file, or over the cap.
    pub fn is_refused(&self) -> bool {
        matches!(
            self,
            FileError::NotRegular { .. } | FileError::TooLarge { .. }
        )
    }
}

/// A byte count as people read caps, exact too: `16 MiB (16777216 bytes)`,
/// `64 KiB (65536 bytes)`, else `N bytes`.
pub fn size_label(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    match bytes {
        0 => "0 bytes".into(),
        b if b % MIB == 0 => format!("{} MiB ({b} bytes)", b / MIB),
        b if b % KIB == 0 => format!("{} KiB ({b} bytes)", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// Reads the regular file at `path` as text, refusing anything else and anything over
/// `cap` bytes. The type and size are checked on the opened file, so a file swapped after
/// the check is still the one checked; the read itself stops at `cap + 1` bytes, so a file
/// that grows while read (or a /proc file that claims 0 bytes) is bounded too.
pub fn read_text(path: &Path, cap: u64) -> Result<String, FileError> {
    let name = path.display().to_string();
    let file = open(path).map_err(|cause| FileError::Io {
        name: name.clone(),
        cause,
    })?;
    let meta = file.metadata().map_err(|cause| FileError::Io {
        name: name.clone(),
        cause,
    })?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            name,
            what: kind_of(&meta.file_type()),
        });
    }
    if meta.len() > cap {
        return Err(FileError::TooLarge { name, cap });
    }
    read_text_from(file, &name, cap)
}

/// Reads at most `cap` bytes of text from `reader` (standard input, an opened file), named
/// `name` in errors; more than `cap` bytes is an error, read no further than `cap + 1`.
pub fn read_text_from(reader: impl Read, name: &str, cap: u64) -> Result<String, FileError> {
    let mut bytes = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|cause| FileError::Io {
            name: name.to_string(),
            cause,
        })?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge {
            name: name.to_string(),
            cap,
        });
    }
    String::from_utf8(bytes).map_err(|e| FileError::NotText {
        name: name.to_string(),
        cause: e.utf8_error(),
    })
}

/// Opens `path` for a streaming reader (a [`super::LineReader`], a JSON document read as a
/// stream), whatever kind of file it is: a pipe (`relayscan report <(zcat scan.jsonl.gz)`)
/// is a fair input there, and the reader's own caps bound what it costs.
/// Its error is the bare cause: each reader names the file in its own words.
pub fn open_stream(path: &Path) -> io::Result<BufReader<File>> {
    File::open(path).map(BufReader::new)
}

/// Standard input for a streaming reader that may move to another thread (a lazily read
/// target list): `Stdin` itself, buffered, since its lock cannot be sent.
pub fn stdin_stream() -> BufReader<io::Stdin> {
    BufReader::new(io::stdin())
}

/// Opens for reading without blocking: opening a FIFO with no writer would otherwise wait
/// forever before its type could be checked. O_NONBLOCK changes nothing for regular files.
// clippy.toml forbids `OpenOptions::open` so that written files go through report::file;
// this one opens for reading only.
#[allow(clippy::disallowed_methods)]
fn open(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}
