//! Release links on Linux lay the code the functions run together: `hot-text.txt` (written by
//! `tests/perf/record-hot-text.sh`) becomes a linker script that puts those functions in a
//! section `.text.hot` before the rest of the code, so a container maps about half the pages of
//! code it would otherwise (tests/perf/README.md, "Code layout"). Debug builds link as usual.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let listing = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("hot-text.txt");
    println!("cargo::rerun-if-changed={}", listing.display());
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if !(release && linux) {
        return Ok(());
    }
    let script = linker_script(&std::fs::read_to_string(&listing)?)?;
    let path = PathBuf::from(std::env::var("OUT_DIR")?).join("hot-text.ld");
    std::fs::write(&path, script)?;
    // INSERT BEFORE keeps the linker's default layout for everything else; lld (rustc's default
    // on x86_64 Linux, and zig's, which cargo-lambda links with) and GNU ld read it alike.
    println!("cargo::rustc-link-arg-bins=-Wl,-T,{}", path.display());
    Ok(())
}

fn linker_script(listing: &str) -> Result<String, Box<dyn Error>> {
    let mut script = String::from("SECTIONS\n{\n  .text.hot : {\n");
    for line in listing.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.split_once(' ') {
            // One description per function, so the linker keeps the listing's order. Cold
            // functions are in `.text.unlikely.*`, C constructors in `.text.startup.*`.
            Some(("text", p)) => writeln!(script, "    *(.text.{p}* .text.unlikely.{p}* .text.startup.{p}*)")?,
            Some(("object", o)) => writeln!(script, "    {o}(.text)")?,
            _ => return Err(format!("hot-text.txt: not `text P` or `object O`: {line}").into()),
        }
    }
    script.push_str("  }\n}\nINSERT BEFORE .text;\n");
    Ok(script)
}
