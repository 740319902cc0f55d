//! The command line before clap reads it: nmap's `-iL`, which clap cannot spell, is
//! translated (`--excludefile` is a clap alias), and nmap's flags that it does not take are
//! refused with a hint, so that no option-looking word is ever read as a target.

/// relayscan's spelling of nmap's `-iL`: clap's short flags are one letter, so it would
/// be read as `-i L`.
const INPUT_LIST: (&str, &str) = ("-iL", "--input-list");

/// What relayscan does instead, for the nmap habits it refuses.
const OUTPUT_HINT: &str = "relayscan uses -o PREFIX and --format (csv,jsonl,json,html,md)";
const PROBE_HINT: &str =
    "relayscan always connects (no ping) and reads each server's banner and EHLO";
const TIMING_HINT: &str = "relayscan paces with --rate and -c/--concurrency";
const PORTS_HINT: &str = "relayscan takes ports with -p (25,587, 2525-2530, smtp)";
const OPEN_HINT: &str = "relayscan writes only endpoints that answered, unless --all";

/// The nmap flags refused, word for word, with their hint. `-oA x` would otherwise be
/// read as `-o A` and a target `x`, which would be scanned.
const REFUSED: [(&str, &str); 7] = [
    ("-oA", OUTPUT_HINT),
    ("-oN", OUTPUT_HINT),
    ("-oX", OUTPUT_HINT),
    ("-oG", OUTPUT_HINT),
    ("-oJ", OUTPUT_HINT),
    ("-oS", OUTPUT_HINT),
    ("--open", OPEN_HINT),
];

/// The hint for an nmap flag of a family (`-sV`, `-Pn`, `-T4`, `--top-ports`), if `word`
/// is one: `-s` or `-P` with one more letter, `-T` with a digit.
fn refused_family(word: &str) -> Option<&'static str> {
    let rest = |prefix: &str| word.strip_prefix(prefix).map(str::as_bytes);
    match (rest("-s"), rest("-P"), rest("-T")) {
        (Some([c]), _, _) | (_, Some([c]), _) if c.is_ascii_alphabetic() => Some(PROBE_HINT),
        (_, _, Some([c])) if c.is_ascii_digit() => Some(TIMING_HINT),
        _ if word == "--top-ports" || word.starts_with("--top-ports=") => Some(PORTS_HINT),
        _ => None,
    }
}

/// `argv` as clap should read it, or why it is refused (exit 2). After `--` every word is
/// a target: one that starts with `-` (other than `-`, stdin) is refused too.
pub fn translate(argv: Vec<String>) -> Result<Vec<String>, String> {
    let mut after_dashes = false;
    let mut out = Vec::with_capacity(argv.len());
    for (n, word) in argv.into_iter().enumerate() {
        if n == 0 || word == "-" {
            out.push(word);
            continue;
        }
        if after_dashes {
            if word.starts_with('-') {
                return Err(format!(
                    "{word}: a target cannot start with '-' (an option after `--`?)"
                ));
            }
            out.push(word);
            continue;
        }
        if word == "--" {
            after_dashes = true;
            out.push(word);
            continue;
        }
        let hint = REFUSED
            .iter()
            .find(|(flag, _)| *flag == word)
            .map(|(_, hint)| *hint)
            .or_else(|| refused_family(&word));
        if let Some(hint) = hint {
            return Err(format!(
                "{word} is an nmap flag that relayscan does not take: {hint}"
            ));
        }
        if word == INPUT_LIST.0 {
            out.push(INPUT_LIST.1.to_string());
        } else {
            out.push(word);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(String::from).collect()
    }

    #[test]
    fn nmap_habits_are_translated_or_refused_with_a_hint() {
        let table: [(&str, Result<&str, &str>); 20] = [
            (
                "relayscan scan 192.0.2.1 -p 25",
                Ok("relayscan scan 192.0.2.1 -p 25"),
            ),
            (
                "relayscan scan -iL hosts.txt",
                Ok("relayscan scan --input-list hosts.txt"),
            ),
            ("relayscan scan -i - -o -", Ok("relayscan scan -i - -o -")),
            (
                "relayscan scan x --excludefile ex.txt",
                Ok("relayscan scan x --excludefile ex.txt"),
            ),
            ("relayscan scan x -o A", Ok("relayscan scan x -o A")),
            ("relayscan scan -- x", Ok("relayscan scan -- x")),
            (
                "relayscan scan 192.0.2.1 -oA x",
                Err(
                    "-oA is an nmap flag that relayscan does not take: relayscan uses -o PREFIX and --format",
                ),
            ),
            ("relayscan scan x -oN out", Err("-oN is an nmap flag")),
            ("relayscan scan x -oX out", Err("-oX is an nmap flag")),
            ("relayscan scan x -oG out", Err("-oG is an nmap flag")),
            ("relayscan scan x -oJ out", Err("-oJ is an nmap flag")),
            (
                "relayscan scan -sV x",
                Err("-sV is an nmap flag that relayscan does not take: relayscan always connects"),
            ),
            ("relayscan scan -sS x", Err("-sS is an nmap flag")),
            ("relayscan scan -sT x", Err("-sT is an nmap flag")),
            ("relayscan scan -Pn x", Err("-Pn is an nmap flag")),
            (
                "relayscan scan -T4 x",
                Err(
                    "-T4 is an nmap flag that relayscan does not take: relayscan paces with --rate",
                ),
            ),
            (
                "relayscan scan x --open",
                Err(
                    "--open is an nmap flag that relayscan does not take: relayscan writes only endpoints that answered",
                ),
            ),
            (
                "relayscan scan x --top-ports 100",
                Err(
                    "--top-ports is an nmap flag that relayscan does not take: relayscan takes ports with -p",
                ),
            ),
            (
                "relayscan scan -- -sV",
                Err("-sV: a target cannot start with '-'"),
            ),
            (
                "relayscan scan -- x -p",
                Err("-p: a target cannot start with '-'"),
            ),
        ];
        for (line, want) in table {
            match (translate(words(line)), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, words(want), "{line}"),
                (Err(got), Err(want)) => assert!(got.starts_with(want), "{line}: {got}"),
                (got, want) => panic!("{line}: got {got:?}, want {want:?}"),
            }
        }
    }
}
