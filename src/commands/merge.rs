//! `relayscan merge A.jsonl B.jsonl ... -o PREFIX`: one report set from the shards of a
//! scan (see `report::merge`).

use super::AppError;
use crate::cli::MergeArgs;
use crate::exit;
use crate::report::merge::Merge;
use crate::report::overwritten_input;

pub fn run(args: MergeArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let formats = crate::config::output::formats(&args.format)?;
    let prefix = super::output_prefix(&args.output, formats, false)?;
    let inputs = args.inputs.iter().map(|p| p.as_path());
    if let Some((input, _)) = overwritten_input(inputs, &prefix, formats) {
        return Err(AppError::Usage(format!(
            "-o {}: would overwrite the input {}; choose another prefix",
            args.output.display(),
            input.display()
        )));
    }
    let merge = Merge::read(&args.inputs)?;
    for warning in merge.warnings() {
        eprintln!("relayscan: warning: {warning}");
    }
    let merged = merge.write(&prefix, formats, argv)?;
    super::print_out(&merged.summary.render_table(crate::color::Paint::stdout()));
    eprintln!(
        "relayscan: merged {} records from {} files ({} duplicates dropped)",
        merged.summary.probed, merged.files, merged.duplicates
    );
    for path in merged.paths {
        eprintln!("relayscan: wrote {}", path.display());
    }
    Ok(exit::OK)
}
