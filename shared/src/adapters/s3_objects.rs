//! [`ObjectStore`] on S3: tokens at `t/<listId>` (JWT) and `t/<listId>.cwt`, with the change
//! sequence and `exp` in object metadata. Writes use S3 conditional writes (`If-None-Match: *`
//! or `If-Match: <etag>`), so publishing is a compare-and-swap per object.

use async_trait::async_trait;
use aws_sdk_s3::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    primitives::ByteStream,
};

use crate::ports::{
    ObjectError, ObjectMeta, ObjectStore, ObjectVersion, ObjectWrite, Precondition, PublishedObject, PutOutcome,
};

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

fn meta(
    etag: Option<&str>,
    m: Option<&std::collections::HashMap<String, String>>,
    version_id: Option<&str>,
) -> ObjectMeta {
    let get = |k: &str| m.and_then(|m| m.get(k)).and_then(|v| v.parse::<i64>().ok());
    ObjectMeta {
        etag: etag.unwrap_or("").to_string(),
        seq: get("seq").unwrap_or(0) as u64,
        iat: get("iat").unwrap_or(0),
        exp: get("exp").unwrap_or(0),
        version_id: version_id.map(str::to_owned),
    }
}

fn not_found<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    matches!(e, SdkError::ServiceError(e) if e.raw().status().as_u16() == 404)
}

impl S3Objects {
    async fn head_inner(&self, key: &str, version: Option<&str>) -> Result<Option<ObjectMeta>, ObjectError> {
        let req = self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned));
        match req.send().await {
            Ok(o) => Ok(Some(meta(o.e_tag(), o.metadata(), o.version_id()))),
            Err(e) if not_found(&e) => Ok(None),
            // A version id that does not parse is as unknown as one that does not exist.
            Err(SdkError::ServiceError(e)) if version.is_some() && e.raw().status().as_u16() == 400 => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn get_inner(&self, key: &str, version: Option<&str>) -> Result<Option<PublishedObject>, ObjectError> {
        let req = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned));
        match req.send().await {
            Ok(o) => {
                let m = meta(o.e_tag(), o.metadata(), o.version_id());
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
            Err(e) if not_found(&e) => Ok(None),
            Err(SdkError::ServiceError(e)) if version.is_some() && e.raw().status().as_u16() == 400 => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        self.head_inner(key, None).await
    }

    async fn get(&self, key: &str) -> Result<Option<PublishedObject>, ObjectError> {
        self.get_inner(key, None).await
    }

    async fn head_version(&self, key: &str, version_id: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        self.head_inner(key, Some(version_id)).await
    }

    async fn get_version(&self, key: &str, version_id: &str) -> Result<Option<PublishedObject>, ObjectError> {
        self.get_inner(key, Some(version_id)).await
    }

    async fn versions(&self, key: &str) -> Result<Vec<ObjectVersion>, ObjectError> {
        let mut out = Vec::new();
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = self
                .s3
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(classify)?;
            // The prefix also matches longer keys (`t/<id>` and `t/<id>.cwt`): keep exact ones.
            for v in page.versions().iter().filter(|v| v.key() == Some(key)) {
                if let (Some(id), Some(at)) = (v.version_id(), v.last_modified()) {
                    out.push(ObjectVersion {
                        version_id: id.to_string(),
                        written_at: at.secs(),
                    });
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() && version_marker.is_none() {
                break;
            }
        }
        // S3 lists a key's versions newest first; the stable sort keeps that order within a second.
        out.sort_by_key(|v| std::cmp::Reverse(v.written_at));
        Ok(out)
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        write: &ObjectWrite<'_>,
        precondition: Precondition,
    ) -> Result<PutOutcome, ObjectError> {
        let mut req = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type(write.content_type)
            .cache_control(write.cache_control)
            .metadata("seq", write.seq.to_string())
            .metadata("iat", write.iat.to_string())
            .metadata("exp", write.exp.to_string());
        req = match precondition {
            Precondition::Absent => req.if_none_match("*"),
            Precondition::Matches(etag) => req.if_match(etag),
            Precondition::None => req,
        };
        match req.send().await {
            Ok(out) => Ok(PutOutcome::Written {
                version_id: out.version_id().map(str::to_owned),
            }),
            Err(SdkError::ServiceError(e)) if matches!(e.raw().status().as_u16(), 412 | 409) => {
                Ok(PutOutcome::Conflict)
            }
            Err(e) => Err(classify(e)),
        }
    }
}
