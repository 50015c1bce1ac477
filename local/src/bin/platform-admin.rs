//! Operator commands for an environment: against the stack's AWS resources (configured by the
//! same environment variables as the functions: APP_ENV, TABLE_NAME, TOKEN_ISSUER,
//! TOKEN_AUDIENCE, VERIFICATION_KEYS_SECRET_ID, SIGNING_KEY_SECRET_ID, CURSOR_KEY_SECRET_ID,
//! DATA_KEY_ID), or with `--local DIR` against a local API's data folder.
//!
//!   platform-admin bootstrap-keys            first signing key, JWKS and cursor key
//!   platform-admin rotate-signing-key        new signing key; JWKS keeps current + previous
//!   platform-admin create-root-admin --email E --name N
//!   platform-admin seed-demo                 synthetic demo data (refused when APP_ENV=prod)
//!   platform-admin verify-audit [--tenant T] verify a tenant's (or the platform's) audit chain
//!   platform-admin reencrypt                 run pending re-encryptions now
//!   platform-admin queue-approvals           put bookings waiting for approval from before the
//!                                            approval queue into it (once, after upgrading)

use shared::app::App;
use shared::ids::TenantId;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: platform-admin [--local DIR] <bootstrap-keys | rotate-signing-key | create-root-admin --email E --name N | seed-demo | verify-audit [--tenant T] | reencrypt | queue-approvals>
AWS credentials and region come from the usual chain (environment, profile, SSO). AWS calls trust only
the Amazon Trust Services roots; behind a TLS-inspecting proxy set AWS_TRUST_STORE=system.";

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("platform-admin: {message}");
    ExitCode::FAILURE
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let local = flag(&args, "--local");
    let Some(command) = args.iter().find(|a| !a.starts_with("--") && Some(*a) != local.as_ref()).cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let app: Arc<App> = match &local {
        Some(dir) => match local_api::prepare(&local_api::Options::new(dir.into())).await {
            Ok((app, _)) => app,
            Err(e) => return fail(e),
        },
        None => match shared::lambda::aws_app(shared::lambda::Services::ALL, &shared::aws_sdk::operator_config().await) {
            Ok(app) => Arc::new(app),
            Err(e) => return fail(e),
        },
    };
    match run(&app, &command, &args).await {
        Ok(output) => {
            println!("{}", serde_json::to_string_pretty(&output).unwrap_or_default());
            if output["verification"]["valid"] == serde_json::json!(false) {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

async fn run(app: &App, command: &str, args: &[String]) -> Result<serde_json::Value, String> {
    use serde_json::json;
    let err = |e: shared::error::ApiError| e.to_string();
    match command {
        "bootstrap-keys" | "rotate-signing-key" => {
            let jwks_id = &app.config.verification_keys_secret;
            let current = app.secrets.get(jwks_id).await.ok();
            if command == "bootstrap-keys" && current.as_deref().is_some_and(|j| j.contains("\"kid\"")) {
                return Err("keys exist already; use rotate-signing-key".into());
            }
            let (signing, jwks) = shared::auth::token::rotate(current.as_deref()).map_err(|e| e.to_string())?;
            let signing_id = app.config.signing_key_secret.as_deref().ok_or("set SIGNING_KEY_SECRET_ID")?;
            // Publish the new public key first, so no token is ever signed with a key that the
            // verifiers have not been given.
            app.secrets.put(jwks_id, &serde_json::to_string(&jwks).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
            app.secrets.put(signing_id, &serde_json::to_string(&signing).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
            if let Some(cursor_id) = &app.config.cursor_key_secret {
                if app.secrets.get(cursor_id).await.map(|c| c.len() < 32).unwrap_or(true) {
                    app.secrets.put(cursor_id, &shared::ids::random_token(32)).await.map_err(|e| e.to_string())?;
                }
            }
            Ok(json!({"current_kid": signing.kid, "verification_kids": jwks.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>()}))
        }
        "create-root-admin" => {
            let email = flag(args, "--email").ok_or("--email is required")?;
            let name = flag(args, "--name").ok_or("--name is required")?;
            let (user, password, totp) = shared::domain::users::create_root_admin(app, &email, &name).await.map_err(err)?;
            Ok(json!({
                "user_id": user.id, "email": user.email, "initial_password": password, "totp_secret": totp,
                "note": "shown once: add the TOTP secret to an authenticator app and store the password safely"
            }))
        }
        "seed-demo" => {
            shared::seed::ensure_seeding_allowed(&app.config.environment)?;
            let creds = shared::seed::seed_demo(app).await.map_err(err)?;
            serde_json::to_value(creds).map_err(|e| e.to_string())
        }
        "verify-audit" => {
            let tenant = flag(args, "--tenant").map(|t| TenantId::parse(&t)).transpose().map_err(err)?;
            let codec = app.cursor_codec().await.map_err(err)?;
            let v = shared::audit::verify::verify_all(&app.store, codec, tenant.as_ref()).await.map_err(err)?;
            Ok(json!({"tenant_id": tenant, "verification": v}))
        }
        "reencrypt" => {
            let progress = shared::jobs::reencrypt::run_pending(app, u64::MAX).await.map_err(err)?;
            Ok(json!({"tenants": progress}))
        }
        "queue-approvals" => {
            let done = shared::domain::bookings::queue_waiting_everywhere(&app.store).await.map_err(err)?;
            Ok(json!({"tenants": done.into_iter().map(|(t, n)| json!({"tenant_id": t, "queued": n})).collect::<Vec<_>>()}))
        }
        other => Err(format!("unknown command {other}\n{USAGE}")),
    }
}
