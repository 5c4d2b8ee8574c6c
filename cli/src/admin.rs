//! Operator and issuer-side commands: the client registry (DynamoDB), request JWTs for the
//! issuer API, and key material for local runs.

use clap::{Args, Subcommand};
use p256::ecdsa::SigningKey;
use serde_json::json;
use shared::adapters::dynamo::{DynamoStore, Tables};
use shared::clock::now;
use shared::domain::client::Client;
use shared::domain::keys;
use shared::ports::IssuerStore;

type Error = Box<dyn std::error::Error>;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register (or update) an issuer: clientId -> JWKS URI, list format, display name.
    Add {
        #[arg(long)]
        id: String,
        /// Where the issuer publishes its request-signing keys. HTTPS; http:// only for loopback
        /// hosts on a local stack.
        #[arg(long = "jwks-uri")]
        jwks_uri: String,
        #[arg(long, default_value = "statuslist+jwt", value_parser = ["statuslist+jwt", "statuslist+cwt"])]
        format: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List registered issuers.
    List,
    /// Remove an issuer; its entries stay (and stay revocable only by re-registering it).
    Remove {
        #[arg(long)]
        id: String,
    },
}

/// Who signs a request JWT: the issuer's private key, the `kid` its JWKS names it by, and its
/// client id.
#[derive(Args)]
pub struct SignAs {
    #[arg(long)]
    key: std::path::PathBuf,
    #[arg(long)]
    kid: String,
    #[arg(long)]
    iss: String,
}

impl SignAs {
    /// An ES256 request JWT with `claims` plus `iss`, `iat` and a fresh `jti` unless given.
    fn sign(&self, mut claims: serde_json::Value) -> Result<String, Error> {
        claims["iss"] = json!(self.iss);
        claims["iat"] = json!(now());
        if claims.get("jti").is_none_or(|j| j.is_null()) {
            claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
        }
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        Ok(keys::sign_compact_es256(&load_key(&self.key)?, &header, &claims))
    }
}

#[derive(Subcommand)]
pub enum RequestCommand {
    /// A signed `POST /issue` body.
    Issue {
        #[command(flatten)]
        by: SignAs,
        /// Seconds until the credential's status expires (statusExpiry = now + this).
        #[arg(long = "expires-in", default_value_t = 30 * 86400)]
        expires_in: i64,
        /// Request id; a fresh lowercase UUID by default. Reuse one to replay a request.
        #[arg(long)]
        jti: Option<String>,
    },
    /// A signed `POST /revoke` body.
    Revoke {
        #[command(flatten)]
        by: SignAs,
        #[arg(long)]
        idx: u64,
        #[arg(long)]
        uri: String,
    },
}

/// A store on the one table a command needs (`var` names it, e.g. CLIENTS_TABLE).
fn store_from_env(
    var: &'static str,
    output: &'static str,
) -> Result<impl std::future::Future<Output = DynamoStore>, Error> {
    let table = std::env::var(var).map_err(|_| format!("{var} is not set (the stack's {output})"))?;
    Ok(async move {
        let sdk = shared::adapters::aws::load_config().await;
        let mut tables = Tables::default();
        match var {
            "TENANTS_TABLE" => tables.tenants = table,
            _ => tables.clients = table,
        }
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables)
    })
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Issue a bearer token for the mDoc management API to TENANT with ROLE; the token is the
    /// last line printed, and only its hash is stored (it cannot be shown again).
    Token {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["admin", "issuer"])]
        role: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Withdraw a bearer token.
    Withdraw {
        #[arg(long)]
        token: String,
    },
}

pub async fn tenant(cmd: TenantCommand) -> Result<(), Error> {
    use shared::domain::tenant;
    use shared::domain::tenant::Credential;
    use shared::ports::TenantStore;
    let store = store_from_env("TENANTS_TABLE", "TenantsTableName")?.await;
    match cmd {
        TenantCommand::Token {
            tenant: id,
            role,
            label,
        } => {
            if !tenant::valid_tenant_id(&id) {
                return Err(format!("--tenant {id:?}: 1 to 64 of a-z, 0-9 and -, not starting with -").into());
            }
            let role: tenant::Role = role.parse()?;
            let token = tenant::new_token();
            let credential = Credential {
                tenant_id: id.clone(),
                role,
                created_at: now(),
                label,
            };
            store.put_credential(&tenant::token_hash(&token), &credential).await?;
            eprintln!("tenant {id}, role {}: bearer token (shown once):", role.as_str());
            println!("{token}");
        }
        TenantCommand::Withdraw { token } => {
            if !store.delete_credential(&tenant::token_hash(token.trim())).await? {
                return Err("no such token".into());
            }
            println!("withdrawn");
        }
    }
    Ok(())
}

fn check_jwks_uri(uri: &str) -> Result<(), Error> {
    let url = reqwest::Url::parse(uri).map_err(|e| format!("--jwks-uri {uri:?}: {e}"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("--jwks-uri {uri:?}: must be https (http only for loopback hosts on a local stack)").into()),
    }
}

pub async fn client(cmd: ClientCommand) -> Result<(), Error> {
    let store = store_from_env("CLIENTS_TABLE", "ClientsTableName")?.await;
    match cmd {
        ClientCommand::Add {
            id,
            jwks_uri,
            format,
            name,
        } => {
            if id.trim().is_empty() || id.len() > shared::domain::issuer_request::MAX_CLIENT_ID_BYTES {
                return Err("--id must be 1 to 256 bytes".into());
            }
            check_jwks_uri(&jwks_uri)?;
            let client = Client {
                client_id: id,
                jwks_uri,
                format,
                name,
            };
            store.put_client(&client).await?;
            println!("{}", serde_json::to_string(&client)?);
        }
        ClientCommand::List => {
            for c in store.clients().await? {
                println!("{}", serde_json::to_string(&c)?);
            }
        }
        ClientCommand::Remove { id } => {
            if !store.delete_client(&id).await? {
                return Err(format!("no client {id:?}").into());
            }
            println!("removed {id}");
        }
    }
    Ok(())
}

fn load_key(path: &std::path::Path) -> Result<SigningKey, Error> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let secret = keys::secret_key_from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(SigningKey::from(secret))
}

pub fn request(cmd: RequestCommand) -> Result<(), Error> {
    let token = match cmd {
        RequestCommand::Issue { by, expires_in, jti } => {
            by.sign(json!({"jti": jti, "statusExpiry": now() + expires_in}))?
        }
        RequestCommand::Revoke { by, idx, uri } => by.sign(json!({"idx": idx, "uri": uri}))?,
    };
    println!("{token}");
    Ok(())
}

/// Writes a new P-256 private key (PKCS#8 PEM) to `out`, refusing to overwrite.
pub fn keygen(out: &std::path::Path) -> Result<(), Error> {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    use std::io::Write;
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

/// Prints the JWKS `{"keys": [...]}` holding the public half of a PEM key under `kid`.
pub fn jwks(key: &std::path::Path, kid: &str) -> Result<(), Error> {
    let pem = std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let public = shared::domain::keys::public_key_from_pem(&pem)?;
    println!("{}", json!({"keys": [shared::domain::keys::public_jwk(&public, kid)]}));
    Ok(())
}
