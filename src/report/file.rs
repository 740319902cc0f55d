//! The one place that opens a file relayscan writes (scan, domain, `report`, `merge`, `diff`
//! and `audit-config` reports, checkpoints), and where `-o PREFIX` is resolved.
//!
//! The rule, in one place: a file is never written through its own name. It is created
//! under a new name beside it (exclusively and with `O_NOFOLLOW`, so a symlink planted
//! there is refused, not followed) and renamed over the name once it holds what it must,
//! which replaces a symlink rather than writing where it points. A report set is renamed
//! into place together once the run's first record is in it (or when it finishes), so a
//! run that fails before that leaves an earlier set as it was. A prefix that names a
//! folder writes `FOLDER/relayscan-<UTC timestamp>.*`; a prefix, or a report name, that is
//! a device, a fifo, a socket or a folder is refused before anything is sent.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{ReportError, with_suffix};
use crate::say::say;

/// Whether replacing an existing file is worth a word on stderr: yes for reports (an
/// earlier run's set is gone), no for a checkpoint or a resumed run's own reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacing {
    Say,
    Quietly,
}

/// A file written under a temporary name until it is renamed to `path`.
#[derive(Debug)]
struct Staged {
    temp: PathBuf,
    path: PathBuf,
    placed: bool,
}

/// The files of one report set: created under temporary names beside their own, renamed
/// into place together by [`ReportSet::commit`]. Dropped, it removes those not renamed, so
/// a run that fails before its first record leaves the earlier reports as they were.
#[derive(Debug)]
pub struct ReportSet {
    staged: Vec<Staged>,
    replacing: Replacing,
}

impl ReportSet {
    pub fn new(replacing: Replacing) -> ReportSet {
        ReportSet {
            staged: Vec::new(),
            replacing,
        }
    }

    /// A new, empty file that becomes `path` at [`commit`](Self::commit).
    pub fn create(&mut self, path: &Path) -> Result<File, ReportError> {
        let err = |e| ReportError::new("create", path, e);
        // A folder could not be renamed over; say so now, not after the run.
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "a folder has this name",
            )));
        }
        let (temp, file) = create_beside(path).map_err(err)?;
        self.staged.push(Staged {
            temp,
            path: path.to_path_buf(),
            placed: false,
        });
        Ok(file)
    }

    /// Renames every file created since the last commit into place, replacing what was
    /// there: a file, or a symlink (never its target). Says which names held a file
    /// before, unless told to replace quietly. Files stay open across it: what is written
    /// later lands under the name.
    pub fn commit(&mut self) -> Result<(), ReportError> {
        let mut replaced = Vec::new();
        for s in self.staged.iter_mut().filter(|s| !s.placed) {
            if fs::symlink_metadata(&s.path).is_ok() {
                replaced.push(s.path.clone());
            }
            fs::rename(&s.temp, &s.path).map_err(|e| ReportError::new("write", &s.path, e))?;
            s.placed = true;
        }
        if self.replacing == Replacing::Say && !replaced.is_empty() {
            let names: Vec<String> = replaced.iter().map(|p| p.display().to_string()).collect();
            say(&format!(
                "relayscan: replaced the earlier {}",
                names.join(", ")
            ));
        }
        Ok(())
    }

    /// Whether every file is under its own name.
    pub fn is_committed(&self) -> bool {
        self.staged.iter().all(|s| s.placed)
    }

    /// When an earlier file holds one of the names not yet taken: drops the new files
    /// that would replace them, says so (unless quiet), and returns true; the earlier
    /// files stay as they were. For a run stopped before its first record, which has
    /// nothing to put in their place. Returns false, and drops nothing, otherwise.
    pub fn keep_earlier(&mut self) -> bool {
        let earlier: Vec<String> = self
            .staged
            .iter()
            .filter(|s| !s.placed && fs::symlink_metadata(&s.path).is_ok())
            .map(|s| s.path.display().to_string())
            .collect();
        if earlier.is_empty() {
            return false;
        }
        if self.replacing == Replacing::Say {
            say(&format!(
                "relayscan: stopped before the first record: kept the earlier {}",
                earlier.join(", ")
            ));
        }
        for s in self.staged.iter().filter(|s| !s.placed) {
            let _ = fs::remove_file(&s.temp);
        }
        true
    }

    /// Where the file that becomes `path` is now: its temporary name until the commit.
    pub fn current<'a>(&'a self, path: &'a Path) -> &'a Path {
        match self.staged.iter().find(|s| s.path == path) {
            Some(s) if !s.placed => &s.temp,
            _ => path,
        }
    }
}

impl Drop for ReportSet {
    fn drop(&mut self) {
        for s in self.staged.iter().filter(|s| !s.placed) {
            let _ = fs::remove_file(&s.temp);
        }
    }
}

/// Writes a whole file: `write` fills a new file beside `path`, which is synced and renamed
/// over it, so that a reader (or a crash) finds the old file or the new one, never half.
pub fn write_whole(
    path: &Path,
    replacing: Replacing,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), ReportError> {
    let mut set = ReportSet::new(replacing);
    let mut file = set.create(path)?;
    write(&mut file)
        .and_then(|()| file.sync_all())
        .map_err(|e| ReportError::new("write", path, e))?;
    set.commit()
}

/// Creates the folder a report at `path` goes in, with its parents.
pub fn create_folder_of(path: &Path) -> Result<(), ReportError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => fs::create_dir_all(dir).map_err(|e| ReportError::new("create folder", dir, e)),
        None => Ok(()),
    }
}

/// Creates a file that did not exist, beside `path`, under a hidden name of its own. Never
/// through a symlink: `create_new` fails on any existing name, `O_NOFOLLOW` says so twice.
fn create_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the report prefix must end in a file name",
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    // A name taken by a run of the same process id that died is skipped; 100 tries are
    // far more than a folder of leftovers holds.
    for n in 0..100 {
        let mut hidden = std::ffi::OsString::from(".");
        hidden.push(name);
        hidden.push(format!(".relayscan-{}-{n}.tmp", std::process::id()));
        let temp = dir.join(hidden);
        #[allow(clippy::disallowed_methods)] // the one place that opens a written file
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp);
        match opened {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "100 temporary names beside it are taken",
    ))
}

/// stdout as a file, for `-o -`: a duplicate of descriptor 1, so the JSONL sink writes
/// each record with one `write` as it does to a file. Nothing is created or replaced.
pub fn stdout_file() -> Result<File, ReportError> {
    use std::os::fd::AsFd;
    io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|e| ReportError::new("open", Path::new("-"), e))
}

/// `-o PREFIX` resolved: where the reports go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub prefix: PathBuf,
    /// The prefix named a folder: the reports got a timestamped name inside it.
    pub in_folder: bool,
}

impl Prefix {
    /// What to tell the user, when the reports are not where the prefix alone says.
    pub fn note(&self) -> Option<String> {
        self.in_folder.then(|| {
            format!(
                "relayscan: the output prefix is a folder: writing {}.*",
                self.prefix.display()
            )
        })
    }
}

/// Resolves `-o PREFIX` for reports with the extensions `exts`, before anything is sent: a
/// prefix that names a folder, or ends in `/`, becomes `FOLDER/relayscan-<UTC timestamp>`;
/// a prefix that is a device, a fifo or a socket is refused, and so is a report name that
/// is one, or a folder. The error names the path, for an input error (exit 2).
pub fn resolve_prefix(given: &Path, exts: &[&str], now: DateTime<Utc>) -> Result<Prefix, String> {
    let ends_in_slash = given.as_os_str().as_bytes().ends_with(b"/");
    let kind = fs::metadata(given).map(|m| m.file_type()).ok();
    let (prefix, in_folder) = match kind {
        _ if ends_in_slash || kind.is_some_and(|k| k.is_dir()) => (
            given.join(format!("relayscan-{}", now.format("%Y%m%dT%H%M%SZ"))),
            true,
        ),
        Some(k) if !k.is_file() => {
            return Err(format!(
                "-o {}: not a regular file ({}); give a file name or a folder for the reports",
                given.display(),
                kind_name(k)
            ));
        }
        _ => (given.to_path_buf(), false),
    };
    for ext in exts {
        let path = with_suffix(&prefix, ext);
        // A symlink is fine (it is replaced); what it points to is not read.
        if let Ok(m) = fs::symlink_metadata(&path)
            && !m.file_type().is_file()
            && !m.file_type().is_symlink()
        {
            return Err(format!(
                "-o {}: {} is not a regular file ({}); it cannot be replaced by a report",
                given.display(),
                path.display(),
                kind_name(m.file_type())
            ));
        }
    }
    Ok(Prefix { prefix, in_folder })
}

fn kind_name(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a fifo"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::symlink;

    fn now() -> DateTime<Utc> {
        "2026-12-07T02:45:09Z".parse().unwrap()
    }

    #[test]
    fn a_set_appears_at_commit_replacing_symlinks_not_their_targets() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let (csv, json) = (dir.path().join("r.csv"), dir.path().join("r.json"));
        symlink(&victim, &csv).unwrap();
        symlink(dir.path().join("nowhere"), &json).unwrap();
        let mut set = ReportSet::new(Replacing::Quietly);
        let mut a = set.create(&csv).unwrap();
        let mut b = set.create(&json).unwrap();
        a.write_all(b"csv").unwrap();
        assert_ne!(set.current(&csv), csv.as_path());
        assert_eq!(fs::read_to_string(set.current(&csv)).unwrap(), "csv");
        assert!(fs::symlink_metadata(&csv).unwrap().file_type().is_symlink());
        set.commit().unwrap();
        // Written after the commit: the same file, now under its name.
        b.write_all(b"json").unwrap();
        assert_eq!(set.current(&csv), csv.as_path());
        assert_eq!(fs::read_to_string(&csv).unwrap(), "csv");
        assert_eq!(fs::read_to_string(&json).unwrap(), "json");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert!(!dir.path().join("nowhere").exists());
        drop(set);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["r.csv", "r.json", "victim"]);
    }

    #[test]
    fn a_set_dropped_before_its_commit_leaves_the_earlier_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("r.csv");
        fs::write(&csv, "earlier").unwrap();
        let mut set = ReportSet::new(Replacing::Say);
        set.create(&csv).unwrap().write_all(b"new").unwrap();
        drop(set);
        assert_eq!(fs::read_to_string(&csv).unwrap(), "earlier");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no leftover");
    }

    #[test]
    fn an_earlier_set_is_kept_only_when_there_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old.csv"), dir.path().join("new.csv"));
        fs::write(&old, "earlier").unwrap();
        let mut set = ReportSet::new(Replacing::Quietly);
        set.create(&old).unwrap().write_all(b"nothing yet").unwrap();
        assert!(set.keep_earlier());
        assert_eq!(fs::read_to_string(&old).unwrap(), "earlier");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no leftover");

        let mut set = ReportSet::new(Replacing::Quietly);
        set.create(&new).unwrap();
        assert!(!set.keep_earlier(), "no earlier file: nothing kept");
        set.commit().unwrap();
        assert!(new.exists());
    }

    #[test]
    fn a_whole_file_replaces_its_name_and_a_failed_one_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.checkpoint");
        fs::write(&path, "old").unwrap();
        let e =
            write_whole(&path, Replacing::Quietly, |_| Err(io::Error::other("boom"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cannot write {}: boom", path.display())
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        write_whole(&path, Replacing::Quietly, |f| f.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no leftover");
    }

    #[test]
    fn prefixes_resolve_to_files_or_timestamped_names_in_folders_and_devices_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        fs::create_dir(at("folder")).unwrap();
        fs::write(at("plain"), "").unwrap();
        fs::create_dir(at("taken.json")).unwrap();
        symlink(at("folder"), at("link-to-folder")).unwrap();
        symlink("/dev/null", at("link.csv")).unwrap();
        let exts = ["csv", "json"];
        let stamp = "relayscan-20261207T024509Z";
        let slash = PathBuf::from(format!("{}/", at("new-folder").display()));
        // (given, the prefix, in a folder) or the words the refusal must hold
        type Want<'a> = Result<(PathBuf, bool), &'a str>;
        let table: Vec<(PathBuf, Want)> = vec![
            (at("scan"), Ok((at("scan"), false))),
            (at("plain"), Ok((at("plain"), false))),
            (at("link"), Ok((at("link"), false))),
            (at("folder"), Ok((at("folder").join(stamp), true))),
            (
                at("link-to-folder"),
                Ok((at("link-to-folder").join(stamp), true)),
            ),
            (slash.clone(), Ok((slash.join(stamp), true))),
            (
                "/dev/full".into(),
                Err("-o /dev/full: not a regular file (a character device)"),
            ),
            ("/dev/null".into(), Err("(a character device)")),
            (
                at("taken"),
                Err("taken.json is not a regular file (a folder)"),
            ),
        ];
        for (given, want) in table {
            let got = resolve_prefix(&given, &exts, now());
            match (got, want) {
                (Ok(p), Ok((prefix, in_folder))) => {
                    assert_eq!((p.prefix, p.in_folder), (prefix, in_folder), "{given:?}")
                }
                (Err(e), Err(words)) => assert!(e.contains(words), "{given:?}: {e}"),
                (got, want) => panic!("{given:?}: got {got:?}, want {want:?}"),
            }
        }
        let note = resolve_prefix(&at("folder"), &exts, now())
            .unwrap()
            .note()
            .unwrap();
        assert!(
            note.contains(&at("folder").join(stamp).display().to_string()),
            "{note}"
        );
        assert_eq!(
            resolve_prefix(&at("scan"), &exts, now()).unwrap().note(),
            None
        );
    }
}
