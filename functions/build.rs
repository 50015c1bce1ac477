//! Release links on Linux lay the code each function runs together, and the read-only data it
//! reads: `hot-text.txt` and `hot-rodata.txt` (written by `tests/perf/record-hot-text.sh`)
//! become linker scripts per binary that put the functions that binary ran in a section
//! `.text.hot` before the rest of the code, and the data it read in `.rodata.hot` before the
//! rest of the data, so a container maps about half the pages of code and data it would
//! otherwise (tests/perf/README.md, "Code layout", "Data layout"). Debug builds link as usual.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Set by `tests/perf/record-hot-text.sh`: link with symbols, which callgrind names the code by.
/// Stripping happens here rather than in the profile so that the recorded build and the release
/// build are the same code (a profile setting changes every crate's hash, and LLVM then keeps
/// other functions out of line).
const KEEP_SYMBOLS: &str = "HOT_TEXT_KEEP_SYMBOLS";
/// Set by `tests/perf/record-hot-text.sh` to a directory: write each binary's link map there
/// (`<binary>.map`), which names the input section at each address of the data it read.
const MAP_DIR: &str = "HOT_TEXT_MAP_DIR";

/// The laid-out sections: the listing they come from, and the section they go before.
const LAYOUTS: [(&str, &str, &str); 2] = [("hot-text.txt", ".text.hot", ".text"), ("hot-rodata.txt", ".rodata.hot", ".rodata")];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    for (file, _, _) in LAYOUTS {
        println!("cargo::rerun-if-changed={}", manifest.join(file).display());
    }
    println!("cargo::rerun-if-changed={}", manifest.join("src/bin").display());
    println!("cargo::rerun-if-env-changed={KEEP_SYMBOLS}");
    println!("cargo::rerun-if-env-changed={MAP_DIR}");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if !(release && linux) {
        return Ok(());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let binaries = binaries(&manifest.join("src/bin"))?;
    for (file, section, before) in LAYOUTS {
        let path = manifest.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e} (tests/perf/record-hot-text.sh writes it)", path.display()))?;
        let listing = Listing::parse(file, &text)?;
        for binary in &binaries {
            let script = out.join(format!("{}-{binary}.ld", file.trim_end_matches(".txt")));
            std::fs::write(&script, listing.linker_script(binary, section, before)?)?;
            // INSERT BEFORE keeps the linker's default layout for everything else; lld (rustc's
            // default on x86_64 Linux, and zig's, which cargo-lambda links with) and GNU ld read
            // it alike.
            println!("cargo::rustc-link-arg-bin={binary}=-Wl,-T,{}", script.display());
        }
    }
    for binary in &binaries {
        if let Some(dir) = std::env::var_os(MAP_DIR) {
            println!("cargo::rustc-link-arg-bin={binary}=-Wl,-Map={}", Path::new(&dir).join(format!("{binary}.map")).display());
        }
        if std::env::var_os(KEEP_SYMBOLS).is_none() {
            println!("cargo::rustc-link-arg-bin={binary}=-Wl,--strip-all");
        }
    }
    Ok(())
}

/// The binaries of `src/bin/`, by name.
fn binaries(dir: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                names.push(stem.to_string());
            }
        }
    }
    Ok(names)
}

/// `hot-text.txt` or `hot-rodata.txt`: the input section descriptions of the code that ran or
/// the data that was read, in layout order, and which of them each function used.
struct Listing {
    entries: Vec<String>,
    shares: BTreeMap<String, Vec<usize>>,
}

impl Listing {
    fn parse(file: &str, text: &str) -> Result<Self, Box<dyn Error>> {
        let mut listing = Listing { entries: Vec::new(), shares: BTreeMap::new() };
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            match line.split_once(' ') {
                // One description per function, so the linker keeps the listing's order. Cold
                // functions are in `.text.unlikely.*`, C constructors in `.text.startup.*`.
                Some(("text", p)) => listing.entries.push(format!("*(.text.{p}* .text.unlikely.{p}* .text.startup.{p}*)")),
                Some(("object", o)) => listing.entries.push(format!("{o}(.text)")),
                Some(("data", d)) => listing.entries.push(d.to_string()),
                // `function NAME [KB] RANGES`: the KB of code it ran are for the harness's check.
                Some(("function", share)) => match share.split(' ').collect::<Vec<_>>()[..] {
                    [name, _, ranges] | [name, ranges] => {
                        listing.shares.insert(name.to_string(), indices(file, ranges, listing.entries.len())?);
                    }
                    _ => return Err(format!("{file}: not `function NAME [KB] RANGES`: {line}").into()),
                },
                _ => return Err(format!("{file}: not `text P`, `object O`, `data D` or `function F [K] I`: {line}").into()),
            }
        }
        Ok(listing)
    }

    /// The script for one binary: its own share, or every entry for a binary recorded after
    /// the listing was, in `section` before `before`.
    fn linker_script(&self, binary: &str, section: &str, before: &str) -> Result<String, Box<dyn Error>> {
        let mut script = format!("SECTIONS\n{{\n  {section} : {{\n");
        let every: Vec<usize>;
        let chosen = match self.shares.get(binary) {
            Some(share) => share,
            None => {
                every = (0..self.entries.len()).collect();
                &every
            }
        };
        for &i in chosen {
            writeln!(script, "    {}", self.entries[i])?;
        }
        write!(script, "  }}\n}}\nINSERT BEFORE {before};\n")?;
        Ok(script)
    }
}

/// `0-3,7` as [0, 1, 2, 3, 7], each below `count`.
fn indices(file: &str, ranges: &str, count: usize) -> Result<Vec<usize>, Box<dyn Error>> {
    let mut out = Vec::new();
    for part in ranges.split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (first, last): (usize, usize) = (first.parse()?, last.parse()?);
        if first > last || last >= count {
            return Err(format!("{file}: entries {part} of {count}").into());
        }
        out.extend(first..=last);
    }
    Ok(out)
}
