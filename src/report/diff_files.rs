//! The diff between two JSONL reports as files (`relayscan diff`): both reports read, the changes written as PREFIX.csv and PREFIX.json.

use std::io::Write;
use std::path::Path;

use super::csv_writer::CsvWriter;
use super::diff::{DIFF_COLUMNS, DIFF_SCHEMA_VERSION, Diff, Differ, csv_row};
use super::file::{Replacing, create_folder_of, write_whole};
use super::read::{Line, ReadError, records};
use super::{Formats, ReportError, with_suffix};

/// The formats a diff can be written in.
pub const DIFF_FORMATS: Formats = Formats {
    csv: true,
    json: true,
    ..Formats::NONE
};

/// The changes from the records of `old` to those of `new`. The old report is held as a
/// snapshot per endpoint; the new one streams past it.
pub fn diff_files(old: &Path, new: &Path) -> Result<Diff, ReadError> {
    let mut differ = Differ::default();
    for line in records(old)? {
        match line? {
            Line::Host(record) => differ.old(&record),
            Line::Domain(entry) => differ.old_domain(&entry),
        }
    }
    for line in records(new)? {
        match line? {
            Line::Host(record) => differ.new_record(&record),
            Line::Domain(entry) => differ.new_domain(&entry),
        }
    }
    Ok(differ.finish())
}

/// Writes PREFIX.csv and PREFIX.json (those of `formats`), creating PREFIX's folder;
/// `wrote` hears of each file as soon as it is complete. `old` and `new` are the inputs,
/// named in the JSON document.
pub fn write_diff(
    diff: &Diff,
    (old, new): (&Path, &Path),
    prefix: &Path,
    formats: Formats,
    mut wrote: impl FnMut(&Path),
) -> Result<(), ReportError> {
    create_folder_of(prefix)?;
    if formats.csv {
        let path = with_suffix(prefix, "csv");
        write_whole(&path, Replacing::Say, |file| write_csv(diff, file))?;
        wrote(&path);
    }
    if formats.json {
        let path = with_suffix(prefix, "json");
        let doc = serde_json::json!({
            "schema_version": DIFF_SCHEMA_VERSION,
            "old": old.display().to_string(),
            "new": new.display().to_string(),
            "counts": diff.counts(),
            "changes": diff.rows,
            "domain_changes": diff.domains,
        });
        write_whole(&path, Replacing::Say, |file| {
            serde_json::to_writer_pretty(&mut *file, &doc)?;
            file.write_all(b"\n")
        })?;
        wrote(&path);
    }
    Ok(())
}

fn write_csv(diff: &Diff, file: &mut std::fs::File) -> std::io::Result<()> {
    let mut w = CsvWriter::new(std::io::BufWriter::new(file));
    w.row(DIFF_COLUMNS)?;
    for row in &diff.rows {
        w.row(csv_row(row))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScanRecord;
    use crate::report::diff::Change;
    use crate::report::testdata;

    #[test]
    fn two_reports_read_compared_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old.jsonl"), dir.path().join("new.jsonl"));
        let line = |r: ScanRecord| serde_json::to_string(&r).unwrap() + "\n";
        let mut opened = ScanRecord::of_outcome(testdata::open_relay_outcome());
        opened.ip = "192.0.2.9".parse().unwrap();
        std::fs::write(
            &old,
            line(ScanRecord::of_outcome(testdata::refused_outcome())),
        )
        .unwrap();
        std::fs::write(&new, line(opened)).unwrap();
        let diff = diff_files(&old, &new).unwrap();
        assert_eq!(diff.count(Change::NewOpenRelay), 1);

        let prefix = dir.path().join("changes/d");
        let mut heard = Vec::new();
        write_diff(&diff, (&old, &new), &prefix, DIFF_FORMATS, |p| {
            heard.push(p.to_path_buf())
        })
        .unwrap();
        assert_eq!(
            heard,
            [with_suffix(&prefix, "csv"), with_suffix(&prefix, "json")]
        );
        let csv = std::fs::read_to_string(&heard[0]).unwrap();
        assert!(csv.starts_with(&DIFF_COLUMNS.join(",")), "{csv}");
        assert_eq!(csv.lines().count(), 1 + diff.rows.len());
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&heard[1]).unwrap()).unwrap();
        assert_eq!(doc["schema_version"], DIFF_SCHEMA_VERSION);
        assert_eq!(doc["old"], old.display().to_string());
        assert_eq!(doc["counts"]["new-open-relay"], 1);
        assert_eq!(doc["changes"].as_array().unwrap().len(), diff.rows.len());

        let e = diff_files(&old, &dir.path().join("gone.jsonl")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
    }

    #[test]
    fn a_failed_write_names_its_file_and_what_was_written_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("d");
        // A folder where the JSON file should go.
        std::fs::create_dir(with_suffix(&prefix, "json")).unwrap();
        let diff = Differ::default().finish();
        let mut heard = Vec::new();
        let e = write_diff(
            &diff,
            (Path::new("a"), Path::new("b")),
            &prefix,
            DIFF_FORMATS,
            |p| heard.push(p.to_path_buf()),
        )
        .unwrap_err();
        assert_eq!(heard, [with_suffix(&prefix, "csv")]);
        assert!(
            e.to_string().starts_with(&format!(
                "cannot create {}: ",
                with_suffix(&prefix, "json").display()
            )),
            "{e}"
        );
    }
}
