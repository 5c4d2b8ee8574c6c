//! Status list signers (`/v2/credentials/mobile/status-list-signers`), as MATTR's API has them:
//! the keys that sign a tenant's mDoc status list tokens, each certified by one of its IACAs.
//!
//! - Under a **managed** IACA the service issues them: when the IACA is activated, and again by
//!   the re-signer's pass [`signer::ROTATE_BEFORE`] a certificate ends ([`SignerService::ensure_managed`]).
//!   The pass also retires managed signers whose certificate has ended.
//! - Under an **unmanaged** IACA the tenant creates one (`POST {iacaId}`): the key is made here
//!   and the answer carries its PKCS#10 request (`csrPem`), which the tenant signs with its IACA
//!   and uploads (`PUT /{id} {certificatePem}`). At most [`MAX_PER_TENANT`] such signers.
//!
//! The tokens are signed by the signer chosen by [`current_signer`]: one of the active IACA's,
//! whose certificate is valid now and lasts longest. Its certificate travels in each token's
//! `x5chain`, and no token outlives it ([`TenantKeys`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::{MdocError, Principal};
use crate::domain::configuration::FieldError;
use crate::domain::iaca::Iaca;
use crate::domain::iaca::{self, CertificateError, IacaCertificate};
use crate::domain::page::Page;
use crate::domain::signer::{self, MAX_PER_TENANT};
use crate::domain::signer::{SignerCertificateRecord, StatusListSigner};
use crate::ports::{IacaStore, KeyPurpose, KeyVault, SignerCreate, SignerError, StoreError, TenantKeys, TenantSigning};

/// Why a signer could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] SignerError),
    #[error("certificate: {0}")]
    Certificate(#[from] CertificateError),
}

impl From<TrustError> for MdocError {
    fn from(e: TrustError) -> Self {
        match e {
            TrustError::Store(e) => e.into(),
            TrustError::Key(e) => e.into(),
            TrustError::Certificate(e) => MdocError::internal(format!("status list signer not issued: {e}")),
        }
    }
}

/// Every signer of a tenant (a few: three of its own at most, two managed ones per IACA).
pub async fn all_signers(store: &dyn IacaStore, tenant_id: &str) -> Result<Vec<StatusListSigner>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.signers(tenant_id, after.as_deref(), 100).await?;
        out.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// The tenant's active IACA, if it has one.
async fn active_iaca(store: &dyn IacaStore, tenant_id: &str) -> Result<Option<Iaca>, StoreError> {
    match store.active_iaca_id(tenant_id).await? {
        Some(id) => store.iaca(tenant_id, &id).await,
        None => Ok(None),
    }
}

/// Why a tenant's mDoc lists cannot be signed now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotReady {
    /// No active IACA, or the active one is not valid now.
    NoActiveIaca,
    /// The active IACA has no signer with a certificate valid now.
    NoSigner { iaca_id: String, managed: bool },
}

impl NotReady {
    /// What the tenant is told when it registers an mDoc meanwhile.
    pub fn message(&self) -> String {
        match self {
            NotReady::NoActiveIaca => "The tenant has no active IACA to sign its status lists: create one \
                 (POST /v2/credentials/mobile/iacas) and activate it (PUT /v2/credentials/mobile/iacas/{id} \
                 {\"active\": true})"
                .into(),
            NotReady::NoSigner { iaca_id, managed: true } => format!(
                "The active IACA {iaca_id} has no valid status list signer yet: deactivate and activate it again"
            ),
            NotReady::NoSigner {
                iaca_id,
                managed: false,
            } => format!(
                "The active IACA {iaca_id} has no status list signer with a valid certificate: create one \
                 (POST /v2/credentials/mobile/status-list-signers {{\"iacaId\": \"{iaca_id}\"}}), sign its csrPem \
                 with the IACA and upload the certificate (PUT /v2/credentials/mobile/status-list-signers/{{id}})"
            ),
        }
    }
}

/// The signer that signs the tenant's mDoc status lists at `now`, with its IACA: among the
/// active IACA's signers, one whose certificate is valid now, the longest-lasting.
pub async fn current_signer(
    store: &dyn IacaStore,
    tenant_id: &str,
    now: i64,
) -> Result<Result<(Iaca, StatusListSigner), NotReady>, StoreError> {
    let Some(iaca) = active_iaca(store, tenant_id)
        .await?
        .filter(|i| i.not_before <= now && now < i.not_after)
    else {
        return Ok(Err(NotReady::NoActiveIaca));
    };
    let signers: Vec<_> = all_signers(store, tenant_id)
        .await?
        .into_iter()
        .filter(|s| s.iaca_id == iaca.id)
        .collect();
    Ok(match signer::choose(&signers, StatusListSigner::window, now) {
        Some(s) => Ok((iaca, s.clone())),
        None => Err(NotReady::NoSigner {
            iaca_id: iaca.id.clone(),
            managed: iaca.key_id.is_some(),
        }),
    })
}

/// What one rotation pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RotationReport {
    pub tenants: usize,
    pub issued: usize,
    pub retired: usize,
    pub failed: usize,
}

pub struct SignerService {
    pub store: Arc<dyn IacaStore>,
    pub vault: Arc<dyn KeyVault>,
    /// The service's public address: the certificates' IssuerAlternativeName names the IACA there.
    pub base_url: String,
    /// The signing keys handed to the publisher, by key id: each reads its public key once per
    /// process, not at every publish.
    keys: std::sync::Mutex<std::collections::HashMap<String, Arc<dyn crate::ports::Signer>>>,
}

/// A signer as the API shows it: the record, and whether it is the one signing the tenant's
/// lists now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerView {
    pub signer: StatusListSigner,
    pub active: bool,
}

/// The IACA a new signer is asked for: its id (a canonical UUID) and the `iacaId` as the request
/// gave it (what a refusal names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSigner {
    pub iaca_id: String,
    pub given: String,
}

fn limit_reached() -> MdocError {
    MdocError::BadRequest(format!(
        "A tenant can have at most {MAX_PER_TENANT} status list signers of its own"
    ))
}

fn iaca_id_error(msg: &str, given: &str) -> MdocError {
    MdocError::Validation(vec![FieldError::body("iacaId", msg, given.into())])
}

fn managed_refusal(what: &str) -> MdocError {
    MdocError::BadRequest(format!("This status list signer is managed by the service: {what}"))
}

impl SignerService {
    pub fn new(store: Arc<dyn IacaStore>, vault: Arc<dyn KeyVault>, base_url: String) -> Self {
        SignerService {
            store,
            vault,
            base_url,
            keys: Default::default(),
        }
    }

    fn issuer_uri(&self, iaca_id: &str) -> String {
        format!("{}/v2/credentials/mobile/iacas/{iaca_id}", self.base_url)
    }

    /// Schedules a key's deletion (a signer's, or an IACA's); a failure is logged (the key is
    /// tagged and described), never answered.
    pub(crate) async fn retire(&self, key_id: &str) {
        if let Err(e) = self.vault.retire_key(key_id).await {
            tracing::error!(key_id, error = %e, "an unused key was not scheduled for deletion");
        }
    }

    /// A new key for a signer of `iaca_id`, and its public half.
    async fn new_key(&self, tenant_id: &str, iaca_id: &str) -> Result<(String, p256::PublicKey), TrustError> {
        let key_id = self
            .vault
            .create_key(
                &format!("statuslist status list signer under IACA {iaca_id} of tenant {tenant_id}"),
                KeyPurpose::StatusListSigner,
            )
            .await?;
        match self.vault.signer(&key_id).identity().await {
            Ok(identity) => Ok((key_id, identity.public_key)),
            Err(e) => {
                self.retire(&key_id).await;
                Err(e.into())
            }
        }
    }

    // ------------------------------------------------------------ managed signers

    /// Makes sure the tenant's active IACA, if managed and valid, has a signer that will not need
    /// replacing for [`signer::ROTATE_BEFORE`]: issues one (a new key, certified by the IACA's key) when
    /// there is none or the current one ends sooner. Returns the signer issued, if any.
    pub async fn ensure_managed(&self, tenant_id: &str, now: i64) -> Result<Option<StatusListSigner>, TrustError> {
        let Some(iaca) = active_iaca(self.store.as_ref(), tenant_id).await? else {
            return Ok(None);
        };
        let Some(iaca_key) = iaca.key_id.clone() else {
            return Ok(None); // unmanaged: the tenant uploads its signers' certificates
        };
        let signers: Vec<_> = all_signers(self.store.as_ref(), tenant_id)
            .await?
            .into_iter()
            .filter(|s| s.iaca_id == iaca.id)
            .collect();
        if let Some(current) = signer::choose(&signers, StatusListSigner::window, now)
            && let Some((_, not_after)) = current.window()
            && !signer::needs_rotation(not_after, iaca.not_after, now)
        {
            return Ok(None);
        }
        let certificate = iaca::read_certificate(&iaca.certificate_pem)?;
        let Some(window) = signer::managed_validity(&certificate, now) else {
            return Ok(None); // the IACA is not valid now: nothing it issues would be
        };
        let (key_id, public_key) = self.new_key(tenant_id, &iaca.id).await?;
        let issued = self
            .issue_managed(&certificate, &iaca, &iaca_key, &public_key, window)
            .await;
        let record = match issued {
            Ok(record) => record,
            Err(e) => {
                self.retire(&key_id).await;
                return Err(e);
            }
        };
        let signer = StatusListSigner {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant_id.to_string(),
            iaca_id: iaca.id.clone(),
            key_id,
            managed: true,
            csr_pem: None,
            certificate: Some(record),
            created_at: now,
        };
        let created = self.store.create_signer(&signer, None).await;
        if !matches!(created, Ok(SignerCreate::Created)) {
            self.retire(&signer.key_id).await;
        }
        match created? {
            SignerCreate::Created => {
                tracing::info!(tenant_id, signer_id = %signer.id, iaca_id = %iaca.id, "status list signer issued");
                Ok(Some(signer))
            }
            // The IACA was deleted meanwhile (so it was no longer active): nothing to sign for.
            SignerCreate::NoIaca | SignerCreate::LimitReached => Ok(None),
        }
    }

    /// The certificate of a managed signer key, signed by its IACA's key, checked as any
    /// uploaded one would be.
    async fn issue_managed(
        &self,
        certificate: &IacaCertificate,
        iaca: &Iaca,
        iaca_key: &str,
        public_key: &p256::PublicKey,
        window: (i64, i64),
    ) -> Result<SignerCertificateRecord, TrustError> {
        let tbs = signer::certificate(
            certificate,
            public_key,
            rand::random(),
            window,
            &self.issuer_uri(&iaca.id),
        )?;
        let signature = self.vault.signer(iaca_key).sign(tbs.bytes()).await?.ecdsa()?;
        let pem = iaca::pem_of(&tbs.assemble(&signature)?)?;
        let checked = signer::read_certificate(&pem, certificate, public_key)?;
        Ok(SignerCertificateRecord {
            pem: checked.pem,
            not_before: checked.not_before,
            not_after: checked.not_after,
        })
    }

    /// The re-signer's pass: [`Self::ensure_managed`] for every tenant with an active IACA, then
    /// retires the managed signers whose certificate has ended (their tokens have expired too:
    /// no token outlives its signer's certificate).
    pub async fn rotate(&self, now: i64) -> Result<RotationReport, StoreError> {
        let mut report = RotationReport::default();
        for (tenant_id, _) in self.store.active_iacas().await? {
            report.tenants += 1;
            match self.ensure_managed(&tenant_id, now).await {
                Ok(Some(_)) => report.issued += 1,
                Ok(None) => {}
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(tenant_id, error = %e, "status list signer not rotated");
                }
            }
            for ended in all_signers(self.store.as_ref(), &tenant_id)
                .await?
                .into_iter()
                .filter(|s| s.managed && s.window().is_some_and(|(_, not_after)| not_after <= now))
            {
                if let Some(gone) = self.store.delete_signer(&tenant_id, &ended.id).await? {
                    self.retire(&gone.key_id).await;
                    report.retired += 1;
                }
            }
        }
        Ok(report)
    }

    /// Deletes every signer of `iaca_id` and retires their keys (the IACA was deleted).
    pub async fn remove_all_of(&self, tenant_id: &str, iaca_id: &str) -> Result<(), StoreError> {
        for s in all_signers(self.store.as_ref(), tenant_id).await? {
            if s.iaca_id == iaca_id
                && let Some(gone) = self.store.delete_signer(tenant_id, &s.id).await?
            {
                self.retire(&gone.key_id).await;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ the tenant's API

    async fn active_id(&self, tenant_id: &str, now: i64) -> Result<Option<String>, StoreError> {
        Ok(current_signer(self.store.as_ref(), tenant_id, now)
            .await?
            .ok()
            .map(|(_, s)| s.id))
    }

    /// A new signer of one of the tenant's unmanaged IACAs: a key, and its PKCS#10 request
    /// (`csrPem`) for the tenant to sign with that IACA. Inactive until its certificate is
    /// uploaded.
    pub async fn create(&self, p: &Principal, request: NewSigner, now: i64) -> Result<SignerView, MdocError> {
        let given = request.given.as_str();
        let Some(iaca) = self.store.iaca(&p.tenant_id, &request.iaca_id).await? else {
            return Err(iaca_id_error("must be the id of one of your IACAs", given));
        };
        if iaca.key_id.is_some() {
            return Err(iaca_id_error(
                "is a managed IACA: the service issues and rotates its status list signers",
                given,
            ));
        }
        if now >= iaca.not_after {
            return Err(iaca_id_error(
                &format!("is an IACA that expired on {}", iaca.certificate_data.not_after),
                given,
            ));
        }
        let own = |s: &&StatusListSigner| !s.managed;
        if all_signers(self.store.as_ref(), &p.tenant_id)
            .await?
            .iter()
            .filter(own)
            .count()
            >= MAX_PER_TENANT
        {
            return Err(limit_reached());
        }
        let certificate = iaca::read_certificate(&iaca.certificate_pem).map_err(TrustError::from)?;
        let (key_id, public_key) = self.new_key(&p.tenant_id, &iaca.id).await?;
        let csr = match self.request(&certificate, &key_id, &public_key).await {
            Ok(csr) => csr,
            Err(e) => {
                self.retire(&key_id).await;
                return Err(e.into());
            }
        };
        let signer = StatusListSigner {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: p.tenant_id.clone(),
            iaca_id: iaca.id,
            key_id,
            managed: false,
            csr_pem: Some(csr),
            certificate: None,
            created_at: now,
        };
        let created = self.store.create_signer(&signer, Some(MAX_PER_TENANT)).await;
        if !matches!(created, Ok(SignerCreate::Created)) {
            self.retire(&signer.key_id).await;
        }
        match created? {
            SignerCreate::Created => Ok(SignerView { signer, active: false }),
            SignerCreate::LimitReached => Err(limit_reached()),
            SignerCreate::NoIaca => Err(iaca_id_error("must be the id of one of your IACAs", given)),
        }
    }

    /// The signed PKCS#10 request of a new key.
    async fn request(
        &self,
        iaca: &IacaCertificate,
        key_id: &str,
        public_key: &p256::PublicKey,
    ) -> Result<String, TrustError> {
        let tbs = signer::request(iaca, public_key)?;
        let signature = self.vault.signer(key_id).sign(tbs.bytes()).await?.ecdsa()?;
        Ok(tbs.assemble(&signature)?)
    }

    /// The tenant's signer `id` (a canonical UUID), as stored.
    pub async fn find(&self, p: &Principal, id: &str) -> Result<StatusListSigner, MdocError> {
        self.store
            .signer(&p.tenant_id, id)
            .await?
            .ok_or(MdocError::NotFound("Status list signer"))
    }

    async fn view(&self, p: &Principal, signer: StatusListSigner, now: i64) -> Result<SignerView, MdocError> {
        let active = self.active_id(&p.tenant_id, now).await?;
        Ok(SignerView {
            active: active.as_deref() == Some(&signer.id),
            signer,
        })
    }

    /// The tenant's signers in id order, after the id `after`.
    pub async fn list(
        &self,
        p: &Principal,
        limit: usize,
        after: Option<&str>,
        now: i64,
    ) -> Result<Page<SignerView>, MdocError> {
        let page = self.store.signers(&p.tenant_id, after, limit).await?;
        let active = self.active_id(&p.tenant_id, now).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|signer| SignerView {
                    active: active.as_deref() == Some(&signer.id),
                    signer,
                })
                .collect(),
            next_after: page.next_after,
        })
    }

    pub async fn get(&self, p: &Principal, id: &str, now: i64) -> Result<SignerView, MdocError> {
        let signer = self.find(p, id).await?;
        self.view(p, signer, now).await
    }

    /// The certificate (`pem`) the tenant's IACA issued for the request of `signer` (as
    /// [`Self::find`] read it). It must be issued by that IACA, certify the signer's key, be an
    /// end-entity certificate that may sign, lie within the IACA's validity and not have ended.
    /// A new one replaces the old.
    pub async fn update(
        &self,
        p: &Principal,
        signer: StatusListSigner,
        pem: &str,
        now: i64,
    ) -> Result<SignerView, MdocError> {
        let refused = |msg: String| MdocError::Validation(vec![FieldError::body("certificatePem", msg, pem.into())]);
        let (Some(csr), false) = (&signer.csr_pem, signer.managed) else {
            return Err(managed_refusal("its certificate is issued and rotated automatically"));
        };
        let iaca = self
            .store
            .iaca(&p.tenant_id, &signer.iaca_id)
            .await?
            .ok_or(MdocError::NotFound("Status list signer"))?;
        let iaca_certificate = iaca::read_certificate(&iaca.certificate_pem).map_err(TrustError::from)?;
        let key = signer::request_key(csr).map_err(TrustError::from)?;
        let checked = signer::read_certificate(pem, &iaca_certificate, &key).map_err(|e| refused(e.to_string()))?;
        if now >= checked.not_after {
            return Err(refused(format!(
                "has expired (valid until {})",
                iaca::rfc3339(checked.not_after)
            )));
        }
        let record = SignerCertificateRecord {
            pem: checked.pem,
            not_before: checked.not_before,
            not_after: checked.not_after,
        };
        if !self
            .store
            .set_signer_certificate(&p.tenant_id, &signer.id, &record)
            .await?
        {
            return Err(MdocError::NotFound("Status list signer"));
        }
        let updated = StatusListSigner {
            certificate: Some(record),
            ..signer
        };
        self.view(p, updated, now).await
    }

    /// Deletes one of the tenant's own signers and retires its key. Tokens it signed stay
    /// verifiable (they carry its certificate) until they expire; the next ones are signed by
    /// another signer, or not at all if the active IACA has none.
    pub async fn delete(&self, p: &Principal, id: &str) -> Result<(), MdocError> {
        let signer = self.find(p, id).await?;
        if signer.managed {
            return Err(managed_refusal("it is retired automatically"));
        }
        match self.store.delete_signer(&p.tenant_id, &signer.id).await? {
            Some(gone) => {
                self.retire(&gone.key_id).await;
                Ok(())
            }
            None => Err(MdocError::NotFound("Status list signer")),
        }
    }
}

#[async_trait]
impl TenantKeys for SignerService {
    async fn signing_key(&self, tenant_id: &str, now: i64) -> Result<Option<TenantSigning>, StoreError> {
        let Ok((iaca, signer)) = current_signer(self.store.as_ref(), tenant_id, now).await? else {
            return Ok(None);
        };
        let Some(certificate) = &signer.certificate else {
            return Ok(None);
        };
        let der = x509_der(&certificate.pem).map_err(|e| StoreError::Other(format!("signer {}: {e}", signer.id)))?;
        let key = {
            let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            keys.entry(signer.key_id.clone())
                .or_insert_with(|| self.vault.signer(&signer.key_id))
                .clone()
        };
        Ok(Some(TenantSigning {
            signer: key,
            certificate_der: der,
            iaca_id: iaca.id,
            not_after: certificate.not_after.min(iaca.not_after),
        }))
    }
}

fn x509_der(pem: &str) -> Result<Vec<u8>, CertificateError> {
    use x509_cert::der::{DecodePem, Encode};
    x509_cert::Certificate::from_pem(pem.trim().as_bytes())
        .and_then(|c| c.to_der())
        .map_err(|e| CertificateError::Unreadable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::{SigningKey, signature::Signer as _};

    use super::*;
    use crate::adapters::local_signer::LocalVault;
    use crate::domain::tenant::Role;
    use crate::mdoc::iaca::IacaService;
    use crate::testing::MemIacas;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    struct World {
        iacas: IacaService,
        signers: SignerService,
        store: Arc<MemIacas>,
        vault: Arc<LocalVault>,
    }

    fn world() -> World {
        let (store, vault) = (Arc::new(MemIacas::default()), Arc::new(LocalVault::default()));
        let base = "https://status.example".to_string();
        World {
            iacas: IacaService::new(store.clone(), vault.clone(), base.clone()),
            signers: SignerService::new(store.clone(), vault.clone(), base),
            store,
            vault,
        }
    }

    fn tenant(id: &str) -> Principal {
        Principal {
            tenant_id: id.into(),
            role: Role::Admin,
        }
    }

    async fn activate(w: &World, p: &Principal, request: iaca::IacaRequest) -> String {
        let created = w.iacas.create(p, request, NOW).await.unwrap();
        let id = created.iaca.id.clone();
        w.iacas.update(p, created.iaca, true, NOW).await.unwrap();
        id
    }

    fn managed(common_name: &str, country: &str) -> iaca::IacaRequest {
        iaca::IacaRequest::Managed(iaca::ManagedRequest {
            common_name: common_name.into(),
            country: country.into(),
            state_or_province: None,
            not_before: NOW,
            not_after: iaca::add_years(NOW, iaca::DEFAULT_VALIDITY_YEARS),
        })
    }

    fn new_signer(iaca_id: &str) -> NewSigner {
        NewSigner {
            iaca_id: iaca_id.into(),
            given: iaca_id.into(),
        }
    }

    fn details(e: MdocError) -> Vec<FieldError> {
        match e {
            MdocError::Validation(details) => details,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_managed_iaca_gets_one_signer_and_the_next_before_it_ends() {
        let w = world();
        let p = tenant("a");
        let iaca_id = activate(&w, &p, managed("A", "AU")).await;
        let all = all_signers(w.store.as_ref(), "a").await.unwrap();
        assert_eq!(all.len(), 1);
        let first = all[0].clone();
        assert!(first.managed && first.iaca_id == iaca_id);
        // Nothing to do while it lasts; a second activation issues nothing either.
        assert!(w.signers.ensure_managed("a", NOW + DAY).await.unwrap().is_none());
        let found = w.iacas.find(&p, &iaca_id).await.unwrap();
        w.iacas.update(&p, found.clone(), true, NOW).await.unwrap();
        assert_eq!(all_signers(w.store.as_ref(), "a").await.unwrap().len(), 1);
        // 90 days before it ends, the pass issues the next, which becomes the current one.
        let (_, end) = first.window().unwrap();
        let report = w.signers.rotate(end - signer::ROTATE_BEFORE + 1).await.unwrap();
        assert_eq!((report.tenants, report.issued, report.retired), (1, 1, 0));
        let (_, current) = current_signer(w.store.as_ref(), "a", end - 10).await.unwrap().unwrap();
        assert_ne!(current.id, first.id);
        // Once the first has ended, the pass retires it and its key.
        let keys = w.vault.live_keys();
        let report = w.signers.rotate(end).await.unwrap();
        assert_eq!((report.issued, report.retired), (0, 1));
        assert_eq!(w.vault.live_keys(), keys - 1);
        assert!(w.store.signer("a", &first.id).await.unwrap().is_none());
        // Deleting the (deactivated) IACA takes its signers and their keys with it.
        w.iacas.update(&p, found, false, NOW).await.unwrap();
        w.iacas.delete(&p, &iaca_id).await.unwrap();
        assert!(all_signers(w.store.as_ref(), "a").await.unwrap().is_empty());
        assert_eq!(w.vault.live_keys(), 0);
    }

    #[tokio::test]
    async fn an_unmanaged_signer_is_active_once_its_uploaded_certificate_checks_out() {
        let w = world();
        let p = tenant("b");
        // The issuer's own IACA key, kept outside the service.
        let ca_key = SigningKey::random(&mut rand::thread_rng());
        let req = iaca::ManagedRequest {
            common_name: "B".into(),
            country: "NZ".into(),
            state_or_province: None,
            not_before: NOW - 60 * DAY,
            not_after: NOW + 365 * DAY,
        };
        let tbs =
            iaca::managed_certificate(&req, &ca_key.verifying_key().into(), [3; 20], "https://b.example").unwrap();
        let sig: p256::ecdsa::Signature = ca_key.sign(tbs.bytes());
        let ca_pem = iaca::pem_of(&tbs.assemble(&sig).unwrap()).unwrap();
        let unmanaged = iaca::IacaRequest::Unmanaged {
            certificate_pem: ca_pem.clone(),
        };
        let iaca_id = activate(&w, &p, unmanaged).await;
        assert!(all_signers(w.store.as_ref(), "b").await.unwrap().is_empty());
        assert!(matches!(
            current_signer(w.store.as_ref(), "b", NOW).await.unwrap(),
            Err(NotReady::NoSigner { managed: false, .. })
        ));
        let made = w.signers.create(&p, new_signer(&iaca_id), NOW).await.unwrap();
        assert!(!made.active);
        let id = made.signer.id.as_str();
        let found = || async { w.signers.find(&p, id).await.unwrap() };
        // The issuer signs the CSR's key with its IACA.
        let key = signer::request_key(made.signer.csr_pem.as_deref().unwrap()).unwrap();
        let ca = iaca::read_certificate(&ca_pem).unwrap();
        let issue = |by: &SigningKey, window: (i64, i64)| {
            let tbs = signer::certificate(&ca, &key, [4; 20], window, "https://b.example").unwrap();
            let sig: p256::ecdsa::Signature = by.sign(tbs.bytes());
            iaca::pem_of(&tbs.assemble(&sig).unwrap()).unwrap()
        };
        let forged = issue(&SigningKey::random(&mut rand::thread_rng()), (NOW, NOW + 30 * DAY));
        let refused = w.signers.update(&p, found().await, &forged, NOW).await.unwrap_err();
        assert_eq!(details(refused)[0].param, "certificatePem");
        let ended = issue(&ca_key, (NOW - 30 * DAY, NOW - DAY));
        let refused = details(w.signers.update(&p, found().await, &ended, NOW).await.unwrap_err());
        assert!(refused[0].msg.starts_with("has expired"), "{refused:?}");
        let good = issue(&ca_key, (NOW, NOW + 30 * DAY));
        let updated = w.signers.update(&p, found().await, &good, NOW).await.unwrap();
        assert!(updated.active);
        let signing = w.signers.signing_key("b", NOW).await.unwrap().unwrap();
        assert_eq!(signing.iaca_id, iaca_id);
        assert_eq!(signing.not_after, NOW + 30 * DAY);
        assert_eq!(signing.signer.identity().await.unwrap().public_key, key);
        // Three of its own at most; another tenant's are invisible to it.
        for _ in 0..2 {
            w.signers.create(&p, new_signer(&iaca_id), NOW).await.unwrap();
        }
        let refused = w.signers.create(&p, new_signer(&iaca_id), NOW).await.unwrap_err();
        assert!(matches!(refused, MdocError::BadRequest(_)), "{refused:?}");
        assert_eq!(
            w.signers.get(&tenant("c"), id, NOW).await.unwrap_err(),
            MdocError::NotFound("Status list signer")
        );
        w.signers.delete(&p, id).await.unwrap();
        assert!(w.signers.signing_key("b", NOW).await.unwrap().is_none());
    }
}
