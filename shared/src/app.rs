//! The application: every port the handlers use, built once per process and shared by all
//! requests (so warm Lambda invocations reuse clients and keys).

use std::sync::Arc;

use crate::adapters::{aws, kms_signer::KmsSigner};
use crate::config::Config;
use crate::ports::Signer;

pub struct App {
    pub config: Config,
    pub signer: Arc<dyn Signer>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("signing key: {0}")]
    Signer(#[from] crate::ports::SignerError),
}

impl App {
    /// Wires the AWS adapters from the environment.
    pub async fn from_env() -> Result<Arc<App>, StartupError> {
        let config = Config::from_env()?;
        let sdk = aws::load_config().await;
        let signer = KmsSigner::new(aws_sdk_kms::Client::new(&sdk), config.signing_key_id.clone()).await?;
        Ok(Arc::new(App { config, signer: Arc::new(signer) }))
    }
}
