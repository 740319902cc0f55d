//! Every file a user hands us is read here, bounded: whole files (configurations, tables, checkpoints) through [`read_text`], line-oriented files (JSONL reports, target and domain lists, mail logs: [`open_log`]) through [`LineReader`], a JSON report's kept parts through [`Metered`].
//!
//! The rest of the crate opens no input file itself; `tests::only_this_module_opens_input_files`
//! checks the source tree for it, so a new reader cannot forget the caps.

mod file;
mod lines;
mod log;
mod metered;
mod words;

pub use file::{
    FileError, MAX_INPUT_FILE_BYTES, open_stream, read_text, read_text_from, size_label,
    stdin_stream,
};
pub use lines::{Line, LineError, LineReader};
pub use log::{Counted, LogStream, log_stream, open_log, skip_line};
pub use metered::{Meter, Metered};
pub use words::list_words;

#[cfg(test)]
mod tests;
