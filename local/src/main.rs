//! `cargo run --bin local-api` serves the whole API on http://127.0.0.1:3000.
//!
//! Options: `--port N` (or `PORT`), `--data-dir DIR` (or `LOCAL_DATA_DIR`, default
//! `.local-data` in the working directory), `--origins a,b` (or `ALLOWED_ORIGINS`).
//! `local-api totp EMAIL` prints the current TOTP code of a demo user.

use local_api::{prepare, Options, CREDENTIALS_FILE};
use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: local-api [--port N] [--data-dir DIR] [--origins URL,URL]\n       local-api [--data-dir DIR] totp EMAIL");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    shared::logging::init();
    let mut port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let mut data_dir = PathBuf::from(std::env::var("LOCAL_DATA_DIR").unwrap_or_else(|_| ".local-data".into()));
    let mut origins: Option<String> = std::env::var("ALLOWED_ORIGINS").ok();
    let mut totp_for: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => return usage(),
            },
            "--data-dir" => match args.next() {
                Some(d) => data_dir = PathBuf::from(d),
                None => return usage(),
            },
            "--origins" => origins = args.next(),
            "totp" => match args.next() {
                Some(e) => totp_for = Some(e),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    if let Some(email) = totp_for {
        return print_totp(&data_dir, &email);
    }
    let mut opts = Options::new(data_dir.clone());
    if let Some(o) = origins {
        opts.allowed_origins = o.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    }
    let (app, seeded) = match prepare(&opts).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("local-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    local_api::start_jobs(app.clone());
    let addr = match local_api::start(app, port).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("local-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    let creds = data_dir.join(CREDENTIALS_FILE);
    if seeded.is_some() {
        eprintln!("Seeded synthetic demo data (root admin and two demo companies, one user per role).");
    }
    eprintln!(
        "Local API on http://{addr}\nDemo credentials: {}\nSign in:\n  curl -s http://{addr}/v1/auth/login -H 'content-type: application/json' \\\n    -d '{{\"email\":\"traveler@alpine.demo\",\"password\":\"<password from the file>\"}}'\nAdmins add \"totp\": the code from `cargo run --bin local-api -- totp admin@alpine.demo`.",
        creds.display()
    );
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}

fn print_totp(data_dir: &std::path::Path, email: &str) -> ExitCode {
    let path = data_dir.join(CREDENTIALS_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("local-api: no {} yet; start the local API once first", path.display());
        return ExitCode::FAILURE;
    };
    let creds: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let secret = creds["users"].as_array().into_iter().flatten().find(|u| u["email"] == email).and_then(|u| u["totp_secret"].as_str());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
    match secret.and_then(|s| shared::auth::totp::code_at(s, now)) {
        Some(code) => {
            println!("{code}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("local-api: {email} has no TOTP secret in {}", path.display());
            ExitCode::FAILURE
        }
    }
}
