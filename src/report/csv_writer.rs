//! The only CSV writer: every cell of every CSV relayscan writes (hosts, domains, diff,
//! audit) goes out through [`sanitize::csv_cell`], controls shown as escapes and formulas
//! neutralised, so no CSV can carry a raw cell. clippy.toml refuses the `csv` crate's
//! writers anywhere else.

use std::io::{self, Write};

use super::sanitize;

/// A CSV writer whose rows are made safe cell by cell.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    #[allow(clippy::disallowed_methods)] // the one place that makes a CSV writer
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter {
            out: csv::Writer::from_writer(out),
        }
    }

    /// Writes one row (the header too: one rule for every cell is easier to trust than a
    /// list of safe ones, and our own names pass through unchanged).
    ///
    /// Cell by cell, so that a cell that needs no change is written from where it is,
    /// never copied (a host row has 46 cells).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> io::Result<()> {
        for c in cells {
            self.out
                .write_field(sanitize::csv_cell(c.as_ref()).as_bytes())
                .map_err(io::Error::from)?;
        }
        // The csv crate's end of a row written field by field.
        self.out
            .write_record(None::<&[u8]>)
            .map_err(io::Error::from)
    }

    /// Hands the buffered rows to the inner writer and flushes it.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_made_safe_and_quoting_is_the_csv_crate_s() {
        let mut w = CsvWriter::new(Vec::new());
        w.row(["ip", "banner"]).unwrap();
        w.row([
            "=1+1".to_string(),
            "220 \u{1b}[2J\u{7}\u{202e}x\r\ny, \"q\"".to_string(),
        ])
        .unwrap();
        w.flush().unwrap();
        let text = String::from_utf8(w.get_ref().clone()).unwrap();
        assert_eq!(
            text,
            "ip,banner\n'=1+1,\"220 \\x1b[2J\\x07\\u{202e}x\\x0d\\x0ay, \"\"q\"\"\"\n"
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // the csv crate's own rows, to compare with
    fn rows_written_cell_by_cell_are_the_csv_crate_s_rows() {
        let tables: [&[&[&str]]; 3] = [
            &[&[""], &[""], &["x"]],
            &[
                &["a", "", "b"],
                &["", "", ""],
                &["q\"uote", "com,ma", "semi;colon"],
            ],
            &[&["ip", "port"], &["192.0.2.1", "25"]],
        ];
        for rows in tables {
            let mut ours = CsvWriter::new(Vec::new());
            let mut theirs = csv::Writer::from_writer(Vec::new());
            for row in rows {
                ours.row(row.iter()).unwrap();
                theirs.write_record(row.iter()).unwrap();
            }
            ours.flush().unwrap();
            theirs.flush().unwrap();
            assert_eq!(ours.get_ref(), theirs.get_ref(), "{rows:?}");
        }
    }
}
