//! `relayscan targets`: the dry run. Prints the endpoints a scan would probe, in scan order (or only their number), or writes them to a file (`-o`) for shards to read, without sending a single packet to any of them.

use std::io::{self, Write};

use super::AppError;
use crate::cli::TargetsArgs;
use crate::config::TargetsSettings;
use crate::exit;
use crate::report::file;
use crate::say::say;
use crate::target::{Endpoint, Space, build_space};

pub async fn run(args: TargetsArgs) -> Result<i32, AppError> {
    let settings = TargetsSettings::from_args(&args)?;
    // The domain plan only feeds reports; the endpoints carry their mail hosts' names.
    let (space, _domains) = build_space(&settings.plan, &settings.dns, false, false).await?;
    if let Some(path) = &settings.output {
        // Whole or absent: a shard never reads half a plan.
        file::write_whole(path, file::Replacing::Say, |f| {
            let mut out = io::BufWriter::with_capacity(64 * 1024, f);
            write_all(&mut out, &space)?;
            out.flush()
        })?;
        say(&format!(
            "relayscan: wrote {} to {}",
            crate::report::overview::count(space.len(), "endpoint"),
            path.display()
        ));
        return Ok(exit::OK);
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let written = if settings.count_only {
        writeln!(out, "{}", space.len())
    } else {
        write_all(&mut out, &space)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(exit::OK),
        // `relayscan targets ... | head` closes the pipe early: that is a fine ending.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(e) => Err(AppError::Output(format!("cannot write the list: {e}"))),
    }
}

/// A header comment (the order, for reproducing it), then one endpoint a line. The output
/// reads back as a target list (`-iL`): names become comments.
pub fn write_all(out: &mut impl Write, space: &Space) -> io::Result<()> {
    writeln!(
        out,
        "# relayscan targets: {}, order {}, shard {}",
        crate::report::overview::count(space.len(), "endpoint"),
        space.order(),
        space.shard()
    )?;
    for (_, endpoint) in space.iter_from(0) {
        write_endpoint(out, &endpoint)?;
    }
    Ok(())
}

fn write_endpoint(out: &mut impl Write, e: &Endpoint) -> io::Result<()> {
    match &e.name {
        Some(name) => writeln!(out, "{e} # {name}"),
        None => writeln!(out, "{e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::target::{Order, Origin, Plan, PlanInput, Shard, Target};

    #[test]
    fn the_list_reads_back_as_targets() {
        let targets: Vec<(Origin, Target)> = ["192.0.2.1-2", "mx.example"]
            .iter()
            .enumerate()
            .map(|(i, s)| (Origin::argument(i + 1), s.parse().unwrap()))
            .collect();
        let resolved = HashMap::from([(
            "mx.example".to_string(),
            Ok(vec!["2001:db8::25".parse().unwrap()]),
        )]);
        let plan = Plan::build(PlanInput {
            targets: &targets,
            excludes: &[],
            default_ports: &[25],
            resolved: &resolved,
            scope: None,
        })
        .unwrap();
        let space = Space::new(plan, Order::Sequential, Shard::WHOLE);
        let mut out = Vec::new();
        write_all(&mut out, &space).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "# relayscan targets: 3 endpoints, order sequential, shard 1/1\n\
             192.0.2.1:25\n192.0.2.2:25\n[2001:db8::25]:25 # mx.example\n"
        );
        let back = crate::target::parse_lines(std::io::Cursor::new(text), "list").unwrap();
        let shown: Vec<String> = back.iter().map(|(_, t)| t.to_string()).collect();
        assert_eq!(shown, ["192.0.2.1:25", "192.0.2.2:25", "[2001:db8::25]:25"]);
    }
}
