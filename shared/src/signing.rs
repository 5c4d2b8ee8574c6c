//! Tokens signed through the [`Signer`] port: the domain builds each form's signing input and
//! assembles the signed token ([`crate::domain::token`]); this asks the signer in between.

use crate::domain::token::{StatusListToken, TokenError, cwt, jwt};
use crate::ports::{Signer, SignerError};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Signer(#[from] SignerError),
}

/// `token` as a compact JWS.
pub async fn jwt(token: &StatusListToken, signer: &dyn Signer) -> Result<String, SignError> {
    jwt_compressed(token, &token.list.compress(), signer, &[]).await
}

/// [`jwt()`] with the list already compressed (callers that publish both forms compress once),
/// and the signer's certificate chain (DER, leaf first; empty for none) as `x5c`.
pub async fn jwt_compressed(
    token: &StatusListToken,
    compressed: &[u8],
    signer: &dyn Signer,
    x5c: &[Vec<u8>],
) -> Result<String, SignError> {
    let kid = &signer.identity().await?.kid;
    let input = jwt::unsigned(token, kid, x5c, compressed)?;
    let signature = signer.sign(input.as_bytes()).await?;
    Ok(jwt::assemble(&input, &signature.raw))
}

/// `token` as a tagged COSE_Sign1 (the raw bytes served over HTTP).
pub async fn cwt(token: &StatusListToken, signer: &dyn Signer) -> Result<Vec<u8>, SignError> {
    cwt_compressed(token, &token.list.compress(), signer, &[]).await
}

/// [`cwt()`] with the list already compressed, and the signer's certificate chain (DER, leaf
/// first; empty for none) as `x5chain`.
pub async fn cwt_compressed(
    token: &StatusListToken,
    compressed: &[u8],
    signer: &dyn Signer,
    x5chain: &[Vec<u8>],
) -> Result<Vec<u8>, SignError> {
    let kid = &signer.identity().await?.kid;
    let unsigned = cwt::unsigned(token, compressed, kid, x5chain)?;
    let signature = signer.sign(&unsigned.signing_input()).await?;
    Ok(unsigned.assemble(&signature.raw)?)
}
