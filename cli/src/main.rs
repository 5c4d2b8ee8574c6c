//! `statuslist`: encode, inspect and check IETF Token Status List tokens (JWT and CWT).
//! Errors are one line on stderr. `check` exits 0 only for VALID, 1 for any other status,
//! and 2 when no status statement can be made (fetch, signature or claim failure).

mod admin;
mod fetch;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};
use shared::adapters::local_signer::LocalSigner;
use shared::clock::now;
use shared::domain::keys::{self, KeySet};
use shared::domain::token::{self, cwt, jwt};
use shared::{Bits, Expectations, Status, StatusList, StatusListToken, TokenFormat};

#[derive(Parser)]
#[command(
    name = "statuslist",
    version,
    about = "Encode, inspect and check IETF Token Status List tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Jwt,
    Cwt,
}

#[derive(Subcommand)]
enum Command {
    /// Build and sign a Status List Token; JWT as compact text, CWT as raw bytes, on stdout.
    Encode {
        /// Bits per entry: 1, 2, 4 or 8.
        #[arg(long)]
        bits: u8,
        /// Number of entries.
        #[arg(long)]
        size: u64,
        /// IDX=VALUE, VALUE a name (VALID, INVALID, SUSPENDED) or a number (3, 0x0C). Repeatable.
        #[arg(long = "set", value_name = "IDX=VALUE")]
        sets: Vec<String>,
        /// More IDX=VALUE assignments, one per line, from a file or - for stdin (blank lines and
        /// lines starting with # are skipped). For large lists: no argument parsing per entry.
        #[arg(long = "set-file", value_name = "FILE|-")]
        set_file: Option<String>,
        #[arg(long, value_enum)]
        format: Format,
        /// The token's own URI (its `sub`).
        #[arg(long)]
        sub: String,
        /// P-256 private key, PEM (PKCS#8 or SEC1).
        #[arg(long)]
        key: std::path::PathBuf,
        /// Key id for the header; defaults to the key's RFC 7638 thumbprint.
        #[arg(long)]
        kid: Option<String>,
        /// Seconds a consumer may cache the token.
        #[arg(long, default_value_t = 43200)]
        ttl: u64,
        /// Seconds from now until the token expires.
        #[arg(long = "exp-in", default_value_t = 86400)]
        exp_in: u64,
        /// Optional `iss` claim.
        #[arg(long)]
        iss: Option<String>,
        /// Optional `aggregation_uri` in the status list.
        #[arg(long = "aggregation-uri")]
        aggregation_uri: Option<String>,
    },
    /// Decode a JWT or CWT Status List Token (detected from its content). Does not verify.
    Inspect {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// A file, an http(s) URL, or - for stdin.
        source: String,
    },
    /// Operators: manage the registry of issuers (needs CLIENTS_TABLE and AWS credentials).
    Client {
        #[command(subcommand)]
        command: admin::ClientCommand,
    },
    /// Operators: bearer tokens of mDoc management API tenants (needs TENANTS_TABLE).
    Tenant {
        #[command(subcommand)]
        command: admin::TenantCommand,
    },
    /// Issuers: print a signed request JWT for POST /issue or POST /revoke.
    Request {
        #[command(subcommand)]
        command: admin::RequestCommand,
    },
    /// Write a new P-256 private key (PKCS#8 PEM).
    Keygen {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Print a JWKS holding the public half of a PEM key.
    Jwks {
        #[arg(long)]
        key: std::path::PathBuf,
        #[arg(long)]
        kid: String,
    },
    /// Fetch, verify and validate a token as a relying party would, and print the status at IDX.
    Check {
        /// The Referenced Token's status list URI.
        uri: String,
        /// The Referenced Token's index.
        idx: u64,
        /// Trusted P-256 public (or private) key, PEM.
        #[arg(long, conflicts_with_all = ["jwks", "iaca"], required_unless_present_any = ["jwks", "iaca"])]
        key: Option<std::path::PathBuf>,
        /// Trusted JWKS: an http(s) URL or a file.
        #[arg(long, conflicts_with = "iaca")]
        jwks: Option<String>,
        /// Trusted IACA certificate (PEM), for an mDoc list's CWT: the token must carry, in its
        /// x5chain, a signer certificate this IACA issued, and verify with that certificate's key.
        #[arg(long)]
        iaca: Option<std::path::PathBuf>,
    },
}

type Error = Box<dyn std::error::Error>;

/// One `IDX=VALUE` assignment, VALUE a status name or number.
fn assign(list: &mut StatusList, assignment: &str) -> Result<(), String> {
    let (idx, value) = assignment.split_once('=').ok_or("expected IDX=VALUE")?;
    let idx: u64 = idx
        .trim()
        .parse()
        .map_err(|_| format!("{:?} is not an index", idx.trim()))?;
    let status = Status::parse(value.trim()).map_err(|e| e.to_string())?;
    list.set(idx, status).map_err(|e| e.to_string())
}

/// The text of `--set-file`: a path, or - for stdin.
fn read_set_file(source: &str) -> Result<String, Error> {
    let mut text = String::new();
    if source == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("--set-file -: {e}"))?;
    } else {
        text = std::fs::read_to_string(source).map_err(|e| format!("--set-file {source}: {e}"))?;
    }
    Ok(text)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            let line = e.to_string().replace('\n', " ");
            eprintln!("statuslist: error: {line}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Encode {
            bits,
            size,
            sets,
            set_file,
            format,
            sub,
            key,
            kid,
            ttl,
            exp_in,
            iss,
            aggregation_uri,
        } => {
            let bits = Bits::new(bits)?;
            let mut list = StatusList::new(bits, size)?;
            for set in &sets {
                assign(&mut list, set).map_err(|e| format!("--set {set:?}: {e}"))?;
            }
            if let Some(source) = &set_file {
                let text = read_set_file(source)?;
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    assign(&mut list, line).map_err(|e| format!("{source}:{}: {line:?}: {e}", n + 1))?;
                }
            }
            if ttl == 0 {
                return Err("--ttl must be positive".into());
            }
            let pem = std::fs::read_to_string(&key).map_err(|e| format!("{}: {e}", key.display()))?;
            let signer = LocalSigner::from_pem(&pem, kid)?;
            let iat = now();
            let exp = iat.checked_add(i64::try_from(exp_in)?).ok_or("--exp-in is too large")?;
            let token = StatusListToken {
                sub,
                iat,
                exp: Some(exp),
                ttl: Some(ttl),
                iss,
                aggregation_uri,
                list,
            };
            let mut out = std::io::stdout().lock();
            match format {
                Format::Jwt => writeln!(out, "{}", shared::signing::jwt(&token, &signer).await?)?,
                Format::Cwt => {
                    if out.is_terminal() {
                        return Err("refusing to write a binary CWT to a terminal; redirect stdout to a file".into());
                    }
                    out.write_all(&shared::signing::cwt(&token, &signer).await?)?;
                }
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { json, source } => {
            let bytes = read_source(&source).await?;
            let report = inspect(&bytes)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_human(&report);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Client { command } => admin::client(command).await.map(|_| ExitCode::SUCCESS),
        Command::Tenant { command } => admin::tenant(command).await.map(|_| ExitCode::SUCCESS),
        Command::Request { command } => admin::request(command).map(|_| ExitCode::SUCCESS),
        Command::Keygen { out } => admin::keygen(&out).map(|_| ExitCode::SUCCESS),
        Command::Jwks { key, kid } => admin::jwks(&key, &kid).map(|_| ExitCode::SUCCESS),
        Command::Check {
            uri,
            idx,
            key,
            jwks,
            iaca,
        } => {
            let expect = Expectations::new(Some(&uri), now());
            if let Some(path) = iaca {
                let pem = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let iaca =
                    shared::domain::iaca::read_certificate(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
                let body = fetch::get(&uri).await?;
                let verified = shared::domain::token::cwt::verify_chained(&body, &iaca, &expect)?;
                return status_exit(verified.token.list.get(idx)?);
            }
            let keys = match (key, jwks) {
                (Some(path), _) => {
                    let pem = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    KeySet::single(p256::ecdsa::VerifyingKey::from(&keys::public_key_from_pem(&pem)?))
                }
                (None, Some(source)) => {
                    let body = read_source(&source).await?;
                    let set: jsonwebtoken::jwk::JwkSet =
                        serde_json::from_slice(&body).map_err(|e| format!("{source}: not a JWKS: {e}"))?;
                    let keys = KeySet::from_jwks(&set);
                    if keys.is_empty() {
                        return Err(format!("{source}: no P-256 keys in the JWKS").into());
                    }
                    keys
                }
                (None, None) => unreachable!("clap requires --key or --jwks"),
            };
            let body = fetch::get(&uri).await?;
            let verified = token::verify(&body, &keys, &expect)?;
            status_exit(verified.token.list.get(idx)?)
        }
    }
}

/// Prints `status`; exit code 0 if VALID, 1 otherwise.
fn status_exit(status: shared::Status) -> Result<ExitCode, Error> {
    println!("{status}");
    Ok(if status.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn read_source(source: &str) -> Result<Vec<u8>, Error> {
    if source.starts_with("http://") || source.starts_with("https://") {
        return fetch::get(source).await;
    }
    if source == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(fetch::MAX_BODY as u64 + 1)
            .read_to_end(&mut buf)?;
        if buf.len() > fetch::MAX_BODY {
            return Err(format!("stdin is larger than {} bytes", fetch::MAX_BODY).into());
        }
        return Ok(buf);
    }
    std::fs::read(source).map_err(|e| format!("{source}: {e}").into())
}

/// The `inspect --json` object: format, header, claims (without the raw list), bits, size and
/// every non-VALID index with its value.
fn inspect(bytes: &[u8]) -> Result<Value, Error> {
    let (format, header, claims, token) = match TokenFormat::detect(bytes) {
        TokenFormat::Jwt => {
            let d = jwt::decode_unverified(std::str::from_utf8(bytes)?)?;
            ("jwt", d.header, d.claims, d.token)
        }
        TokenFormat::Cwt => {
            let d = cwt::decode_unverified(bytes)?;
            ("cwt", d.header, d.claims, d.token)
        }
    };
    let statuses: serde_json::Map<String, Value> = token
        .list
        .non_valid()
        .map(|(i, s)| (i.to_string(), json!(s.value())))
        .collect();
    Ok(json!({
        "format": format,
        "verified": false,
        "header": header,
        "claims": claims,
        "bits": token.list.bits().get(),
        "size": token.list.size(),
        "statuses": statuses,
    }))
}

fn print_human(report: &Value) {
    let format = report["format"].as_str().unwrap_or("?").to_uppercase();
    println!("format:   {format} Status List Token (signature not verified; use `statuslist check`)");
    println!("header:   {}", report["header"]);
    println!("claims:   {}", report["claims"]);
    println!("bits:     {}", report["bits"]);
    println!("size:     {} entries", report["size"]);
    let statuses = report["statuses"].as_object().cloned().unwrap_or_default();
    println!("non-VALID entries: {}", statuses.len());
    const SHOWN: usize = 100;
    for (idx, value) in statuses.iter().take(SHOWN) {
        let v = value.as_u64().unwrap_or(0) as u8;
        println!("  {idx:>10}  {}", Status::from_raw(v));
    }
    if statuses.len() > SHOWN {
        println!("  ... {} more (use --json for all)", statuses.len() - SHOWN);
    }
}
