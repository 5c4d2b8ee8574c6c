//! [`ObjectStore`] on S3: tokens at `t/<listId>` (JWT) and `t/<listId>.cwt`, with the change
//! sequence and `exp` in object metadata. Writes use S3 conditional writes (`If-None-Match: *`
//! or `If-Match: <etag>`), so publishing is a compare-and-swap per object.

use async_trait::async_trait;
use aws_sdk_s3::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    primitives::ByteStream,
};

use crate::ports::{ObjectError, ObjectMeta, ObjectStore, Precondition, PublishedObject, PutOutcome};

pub struct S3Objects {
    s3: Client,
    bucket: String,
}

impl S3Objects {
    /// Path-style addressing: LocalStack has no virtual-host DNS, and it is harmless on AWS.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build();
        S3Objects {
            s3: Client::from_conf(config),
            bucket: bucket.into(),
        }
    }
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(err: SdkError<E>) -> ObjectError {
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            ObjectError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(e) if e.raw().status().is_server_error() || e.err().code() == Some("SlowDown") => {
            ObjectError::Unavailable(format!("{:?}: {:?}", e.err().code(), e.err().message()))
        }
        _ => ObjectError::Other(format!("{err:?}")),
    }
}

fn meta(etag: Option<&str>, m: Option<&std::collections::HashMap<String, String>>) -> ObjectMeta {
    let get = |k: &str| m.and_then(|m| m.get(k)).and_then(|v| v.parse().ok());
    ObjectMeta {
        etag: etag.unwrap_or("").to_string(),
        seq: get("seq").unwrap_or(0),
        exp: get("exp").unwrap_or(0) as i64,
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        match self.s3.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => Ok(Some(meta(o.e_tag(), o.metadata()))),
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 404 => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<PublishedObject>, ObjectError> {
        match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => {
                let m = meta(o.e_tag(), o.metadata());
                let content_type = o.content_type().unwrap_or("application/octet-stream").to_string();
                let cache_control = o.cache_control().map(str::to_owned);
                let body = o
                    .body
                    .collect()
                    .await
                    .map_err(|e| ObjectError::Unavailable(e.to_string()))?;
                Ok(Some(PublishedObject {
                    body: body.into_bytes().to_vec(),
                    content_type,
                    cache_control,
                    meta: m,
                }))
            }
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 404 => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        cache_control: &str,
        seq: u64,
        exp: i64,
        precondition: Precondition,
    ) -> Result<PutOutcome, ObjectError> {
        let mut req = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type(content_type)
            .cache_control(cache_control)
            .metadata("seq", seq.to_string())
            .metadata("exp", exp.to_string());
        req = match precondition {
            Precondition::Absent => req.if_none_match("*"),
            Precondition::Matches(etag) => req.if_match(etag),
        };
        match req.send().await {
            Ok(_) => Ok(PutOutcome::Written),
            Err(SdkError::ServiceError(e)) if matches!(e.raw().status().as_u16(), 412 | 409) => {
                Ok(PutOutcome::Conflict)
            }
            Err(e) => Err(classify(e)),
        }
    }
}
