//! Compiling a Sendmail .mc into its .cf the way sendmail-cf does (`m4 -D_CF_DIR_=DIR/ DIR/m4/cf.m4 FILE.mc`), so that the audit reads the rules Sendmail will run rather than guessing from macro names. The only part of the audit that runs a program.
//!
//! The macros are looked for in $RELAYSCAN_SENDMAIL_CF (alone, when set), else
//! /usr/share/sendmail/cf (Debian's sendmail-cf), /usr/share/sendmail-cf, then the test
//! bed's unpacked copy
//! (/var/cache/relayscan-mtas/root/usr/share/sendmail/cf, tests/mta/unpack-mtas.sh). m4 gets
//! the .mc on stdin, 10 s and 16 MiB of output at the most (a .cf is ~100 KiB), read
//! through `crate::input` like every input file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::audit::model::Source;
use crate::input::{MAX_INPUT_FILE_BYTES, read_text_from};

/// The result of compiling one .mc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// The generated .cf, how it was made, and what m4 complained about (missing includes).
    Cf {
        text: String,
        how: String,
        warnings: Vec<String>,
    },
    /// Why not: no m4, no sendmail-cf, or m4 failed.
    Not(String),
}

/// For audits that compile nothing (library callers, unit tests).
pub fn not_compiled(_: &Source) -> Compiled {
    Compiled::Not("no m4 compiler was given to the audit".into())
}

/// Where sendmail-cf's macros are: $RELAYSCAN_SENDMAIL_CF alone when it is set (so that it
/// can also say "none here"), else the first of the usual places that has m4/cf.m4.
pub fn cf_dir() -> Option<PathBuf> {
    let has_macros = |d: &PathBuf| d.join("m4/cf.m4").is_file();
    if let Some(dir) = std::env::var_os("RELAYSCAN_SENDMAIL_CF") {
        return Some(PathBuf::from(dir)).filter(has_macros);
    }
    [
        "/usr/share/sendmail/cf",
        "/usr/share/sendmail-cf",
        "/var/cache/relayscan-mtas/root/usr/share/sendmail/cf",
    ]
    .map(PathBuf::from)
    .into_iter()
    .find(has_macros)
}

/// m4 on PATH (or in /usr/bin).
fn m4() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("m4"))
        .find(|p| p.is_file())
}

/// Seconds m4 may take: sendmail-cf compiles a .cf in well under one.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The .cf m4 writes is read like any input file: at most 16 MiB, or m4 failed.
const MAX_OUTPUT: u64 = MAX_INPUT_FILE_BYTES;
/// m4's complaints read at the most (a few lines are quoted).
const MAX_COMPLAINTS: u64 = 1 << 16;
/// m4 complaints quoted at the most.
const MAX_WARNINGS: usize = 5;

/// Compiles `mc` with m4 and sendmail-cf, when both are here.
pub fn compile(mc: &Source) -> Compiled {
    let Some(dir) = cf_dir() else {
        return Compiled::Not(
            "sendmail-cf's m4 macros are not installed (/usr/share/sendmail/cf, or \
             $RELAYSCAN_SENDMAIL_CF)"
                .into(),
        );
    };
    let Some(m4) = m4() else {
        return Compiled::Not("m4 is not installed".into());
    };
    match run_m4(&m4, &dir, &mc.text) {
        Ok((text, stderr)) if text.contains("Scheck_rcpt") => Compiled::Cf {
            text,
            how: format!("m4 with sendmail-cf in {}", dir.display()),
            warnings: stderr
                .lines()
                .take(MAX_WARNINGS)
                .map(str::to_string)
                .collect(),
        },
        Ok((_, stderr)) => Compiled::Not(format!(
            "m4 wrote no sendmail.cf: {}",
            stderr.lines().next().unwrap_or("no message")
        )),
        Err(e) => Compiled::Not(format!("m4 failed: {e}")),
    }
}

/// Runs m4 over the .mc. An .mc that includes cf.m4 itself (Debian's) gets this directory's;
/// one using Debian's OSTYPE or DOMAIN gets Debian's autoconf.m4 first, as Debian's
/// sendmailconfig does (those include it from /usr/share/sendmail, absent elsewhere).
fn run_m4(m4: &Path, dir: &Path, mc: &str) -> std::io::Result<(String, String)> {
    let cf_m4 = dir.join("m4/cf.m4");
    let includes_cf = mc.contains("m4/cf.m4'");
    let text = if includes_cf {
        rewrite_cf_include(mc, &cf_m4.display().to_string())
    } else {
        mc.to_string()
    };
    let mut cmd = Command::new(m4);
    cmd.arg(format!("-D_CF_DIR_={}/", dir.display()));
    if !includes_cf {
        cmd.arg(&cf_m4);
    }
    let autoconf = dir.join("debian/autoconf.m4");
    if (mc.contains("OSTYPE(`debian')") || mc.contains("DOMAIN(`debian-mta')"))
        && autoconf.is_file()
    {
        cmd.arg(&autoconf);
    }
    let mut child = cmd
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    // Each pipe is drained after its cap, so that m4 is never blocked on a full pipe.
    let reader = std::thread::spawn(move || {
        let read = read_text_from(&mut out_pipe, "m4's output", MAX_OUTPUT);
        let _ = std::io::copy(&mut out_pipe, &mut std::io::sink());
        read.map_err(|e| std::io::Error::other(e.to_string()))
    });
    let errors = std::thread::spawn(move || {
        let head = (&mut err_pipe).take(MAX_COMPLAINTS);
        let read = read_text_from(head, "m4's complaints", MAX_COMPLAINTS);
        let _ = std::io::copy(&mut err_pipe, &mut std::io::sink());
        read.unwrap_or_else(|e| e.to_string())
    });
    let started = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other(format!(
                "took longer than {} s",
                TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = writer.join();
    let out = reader
        .join()
        .map_err(|_| std::io::Error::other("reader panicked"))??;
    let err = errors.join().unwrap_or_default();
    Ok((out, err))
}

/// Points `include(`…/m4/cf.m4')` at `cf_m4`.
fn rewrite_cf_include(mc: &str, cf_m4: &str) -> String {
    mc.lines()
        .map(|l| match (l.find("include(`"), l.find("m4/cf.m4'")) {
            (Some(start), Some(end)) if start < end => {
                let open = start + "include(`".len();
                format!("{}{cf_m4}{}", &l[..open], &l[end + "m4/cf.m4".len()..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debians_own_include_of_cf_m4_is_pointed_at_ours() {
        let mc =
            "divert(0)dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nOSTYPE(`debian')dnl\n";
        assert_eq!(
            rewrite_cf_include(mc, "/x/m4/cf.m4"),
            "divert(0)dnl\ninclude(`/x/m4/cf.m4')dnl\nOSTYPE(`debian')dnl\n"
        );
    }
}
