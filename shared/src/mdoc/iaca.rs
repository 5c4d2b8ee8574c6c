//! A tenant's IACAs (`/v2/credentials/mobile/iacas`), as MATTR's API has them: managed ones,
//! whose key is created in the signing service and whose certificate is built and signed here,
//! and unmanaged ones registered from the issuer's certificate. Created inactive; at most
//! [`MAX_PER_TENANT`] per tenant; one active at a time (activating one deactivates the other);
//! the active one cannot be deleted. Tenant-scoped like the rest of the mDoc API: another
//! tenant's IACA is answered as one that does not exist.

use std::sync::Arc;

use super::signers::SignerService;
use super::{MdocError, Principal};
use crate::domain::configuration::FieldError;
use crate::domain::iaca::Iaca;
use crate::domain::iaca::{self, CertificateError, IacaRequest, MAX_PER_TENANT};
use crate::domain::page::Page;
use crate::ports::{IacaCreate, IacaDelete, IacaStore, KeyPurpose, KeyVault};

pub struct IacaService {
    pub store: Arc<dyn IacaStore>,
    pub vault: Arc<dyn KeyVault>,
    /// The service's public address: the managed IACAs' IssuerAlternativeName.
    pub base_url: String,
    /// Issues a managed IACA's first status list signer when it is activated, and removes an
    /// IACA's signers with it.
    pub signers: SignerService,
}

/// An IACA as the API shows it: the record, and whether it is the tenant's active one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IacaView {
    pub iaca: Iaca,
    pub active: bool,
}

fn certificate_error(e: CertificateError, value: &str) -> MdocError {
    MdocError::Validation(vec![FieldError::body("certificatePem", e.to_string(), value.into())])
}

fn limit_reached() -> MdocError {
    MdocError::BadRequest(format!("A tenant can have at most {MAX_PER_TENANT} IACAs"))
}

impl IacaService {
    pub fn new(store: Arc<dyn IacaStore>, vault: Arc<dyn KeyVault>, base_url: String) -> Self {
        let signers = SignerService::new(store.clone(), vault.clone(), base_url.clone());
        IacaService {
            store,
            vault,
            base_url,
            signers,
        }
    }

    /// Creates a managed IACA, or registers an unmanaged one (from its certificate). Answers the
    /// IACA as created: inactive.
    pub async fn create(&self, p: &Principal, request: IacaRequest, now: i64) -> Result<IacaView, MdocError> {
        // Refused before any key is made; the store's conditional count decides races.
        if self.store.iacas(&p.tenant_id, None, MAX_PER_TENANT).await?.items.len() >= MAX_PER_TENANT {
            return Err(limit_reached());
        }
        let id = uuid::Uuid::now_v7().to_string();
        let (certificate, key_id) = match request {
            IacaRequest::Unmanaged { certificate_pem } => {
                let c = iaca::read_certificate(&certificate_pem).map_err(|e| certificate_error(e, &certificate_pem))?;
                c.check_valid_at(now)
                    .map_err(|e| certificate_error(e, &certificate_pem))?;
                (c, None)
            }
            IacaRequest::Managed(request) => {
                let key_id = self
                    .vault
                    .create_key(
                        &format!("statuslist IACA {id} of tenant {}", p.tenant_id),
                        KeyPurpose::Iaca,
                    )
                    .await?;
                match self.managed_certificate(&request, &key_id, &id).await {
                    Ok(c) => (c, Some(key_id)),
                    Err(e) => {
                        self.signers.retire(&key_id).await;
                        return Err(e);
                    }
                }
            }
        };
        let stored = Iaca {
            id,
            tenant_id: p.tenant_id.clone(),
            key_id,
            certificate_pem: certificate.pem,
            certificate_data: certificate.data,
            fingerprint: certificate.fingerprint,
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            created_at: now,
        };
        let created = self.store.create_iaca(&stored, MAX_PER_TENANT).await;
        if !matches!(created, Ok(IacaCreate::Created))
            && let Some(key_id) = &stored.key_id
        {
            self.signers.retire(key_id).await;
        }
        match created? {
            IacaCreate::Created => Ok(IacaView {
                iaca: stored,
                active: false,
            }),
            IacaCreate::LimitReached => Err(limit_reached()),
        }
    }

    /// The certificate of a new managed IACA, signed by its key in the vault.
    async fn managed_certificate(
        &self,
        request: &iaca::ManagedRequest,
        key_id: &str,
        id: &str,
    ) -> Result<iaca::IacaCertificate, MdocError> {
        let signer = self.vault.signer(key_id);
        let public_key = signer.identity().await?.public_key;
        let serial: [u8; 20] = rand::random();
        let issuer_uri = format!("{}/v2/credentials/mobile/iacas/{id}", self.base_url);
        let internal = |e: CertificateError| MdocError::internal(format!("IACA certificate not built: {e}"));
        let tbs = iaca::managed_certificate(request, &public_key, serial, &issuer_uri).map_err(internal)?;
        let signature = signer.sign(tbs.bytes()).await?.ecdsa()?;
        let der = tbs.assemble(&signature).map_err(internal)?;
        let pem = iaca::pem_of(&der).map_err(internal)?;
        // What we hand out must read back as an IACA, signature and all.
        iaca::read_certificate(&pem).map_err(internal)
    }

    /// The tenant's IACAs in id order, after the id `after`.
    pub async fn list(&self, p: &Principal, limit: usize, after: Option<&str>) -> Result<Page<IacaView>, MdocError> {
        let page = self.store.iacas(&p.tenant_id, after, limit).await?;
        let active = self.store.active_iaca_id(&p.tenant_id).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|iaca| IacaView {
                    active: active.as_deref() == Some(&iaca.id),
                    iaca,
                })
                .collect(),
            next_after: page.next_after,
        })
    }

    /// The tenant's IACA `id` (a canonical UUID), as stored.
    pub async fn find(&self, p: &Principal, id: &str) -> Result<Iaca, MdocError> {
        self.store
            .iaca(&p.tenant_id, id)
            .await?
            .ok_or(MdocError::NotFound("IACA"))
    }

    pub async fn get(&self, p: &Principal, id: &str) -> Result<IacaView, MdocError> {
        let iaca = self.find(p, id).await?;
        let active = self.store.active_iaca_id(&p.tenant_id).await?;
        Ok(IacaView {
            active: active.as_deref() == Some(&iaca.id),
            iaca,
        })
    }

    /// Activates (`active`) or deactivates the tenant's IACA `iaca` (as [`Self::find`] read it).
    /// Only an IACA valid at `now` can be activated; activating one deactivates the tenant's
    /// other. Activating a managed IACA issues its status list signer (if it has no current
    /// one); should that fail, the IACA stays active and the request can be repeated (or the
    /// re-signer's next pass issues it).
    pub async fn update(&self, p: &Principal, iaca: Iaca, active: bool, now: i64) -> Result<IacaView, MdocError> {
        if active && (now < iaca.not_before || now > iaca.not_after) {
            return Err(MdocError::Validation(vec![FieldError::body(
                "active",
                format!(
                    "an IACA can only be activated within its validity ({} to {})",
                    iaca.certificate_data.not_before, iaca.certificate_data.not_after
                ),
                true.into(),
            )]));
        }
        if !self.store.set_active_iaca(&p.tenant_id, &iaca.id, active).await? {
            return Err(MdocError::NotFound("IACA"));
        }
        if active && iaca.key_id.is_some() {
            self.signers.ensure_managed(&p.tenant_id, now).await?;
        }
        let now_active = self.store.active_iaca_id(&p.tenant_id).await?;
        Ok(IacaView {
            active: now_active.as_deref() == Some(&iaca.id),
            iaca,
        })
    }

    /// Deletes an inactive IACA with its status list signers; their keys, and a managed IACA's,
    /// are scheduled for deletion.
    pub async fn delete(&self, p: &Principal, id: &str) -> Result<(), MdocError> {
        match self.store.delete_iaca(&p.tenant_id, id).await? {
            IacaDelete::Deleted(iaca) => {
                self.signers.remove_all_of(&p.tenant_id, &iaca.id).await?;
                if let Some(key_id) = &iaca.key_id {
                    self.signers.retire(key_id).await;
                }
                Ok(())
            }
            IacaDelete::NotFound => Err(MdocError::NotFound("IACA")),
            IacaDelete::Active => Err(MdocError::BadRequest(
                "The active IACA cannot be deleted: deactivate it first".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local_signer::LocalVault;
    use crate::domain::tenant::Role;
    use crate::testing::MemIacas;

    const NOW: i64 = 1_800_000_000;

    fn service() -> (IacaService, Arc<MemIacas>, Arc<LocalVault>) {
        let (store, vault) = (Arc::new(MemIacas::default()), Arc::new(LocalVault::default()));
        let s = IacaService::new(store.clone(), vault.clone(), "https://status.example".into());
        (s, store, vault)
    }

    fn tenant(id: &str) -> Principal {
        Principal {
            tenant_id: id.into(),
            role: Role::Admin,
        }
    }

    fn managed() -> IacaRequest {
        IacaRequest::Managed(iaca::ManagedRequest {
            common_name: "Example IACA".into(),
            country: "AU".into(),
            state_or_province: None,
            not_before: NOW,
            not_after: iaca::add_years(NOW, iaca::DEFAULT_VALIDITY_YEARS),
        })
    }

    #[tokio::test]
    async fn a_managed_iaca_is_signed_by_its_own_key_and_keeps_it() {
        let (s, store, vault) = service();
        let created = s.create(&tenant("a"), managed(), NOW).await.unwrap();
        assert_eq!(vault.live_keys(), 1);
        let pem = &created.iaca.certificate_pem;
        let cert = iaca::read_certificate(pem).unwrap();
        // The certificate certifies the key kept for it (and verifies under it: read_certificate).
        let id = &created.iaca.id;
        let key_id = store.iaca("a", id).await.unwrap().unwrap().key_id.unwrap();
        let key = vault.signer(&key_id).identity().await.unwrap().public_key;
        assert_eq!(cert.public_key, key);
        assert_eq!(created.iaca.fingerprint, cert.fingerprint);
        assert!(!created.active);
        let uri = format!("https://status.example/v2/credentials/mobile/iacas/{id}");
        assert!(String::from_utf8_lossy(&cert.der).contains(&uri));
    }

    #[tokio::test]
    async fn a_key_made_for_a_request_that_fails_is_retired() {
        let (s, store, vault) = service();
        // Storage fails after the key was made and the certificate signed.
        *store.fail_creates.lock().unwrap() = 1;
        assert!(matches!(
            s.create(&tenant("a"), managed(), NOW).await.unwrap_err(),
            MdocError::Unavailable(_)
        ));
        assert_eq!(vault.live_keys(), 0);
        // At the limit, no key is made at all.
        for _ in 0..MAX_PER_TENANT {
            s.create(&tenant("b"), managed(), NOW).await.unwrap();
        }
        assert_eq!(vault.live_keys(), MAX_PER_TENANT);
        let refused = s.create(&tenant("b"), managed(), NOW).await.unwrap_err();
        assert!(matches!(refused, MdocError::BadRequest(_)), "{refused:?}");
        assert_eq!(
            vault.live_keys(),
            MAX_PER_TENANT,
            "no key was made for a refused request"
        );
        // Deleting a managed IACA retires its key; the active one is kept.
        let page = s.list(&tenant("b"), 100, None).await.unwrap();
        let id = page.items[0].iaca.id.clone();
        let found = s.find(&tenant("b"), &id).await.unwrap();
        s.update(&tenant("b"), found.clone(), true, NOW).await.unwrap();
        assert!(matches!(
            s.delete(&tenant("b"), &id).await.unwrap_err(),
            MdocError::BadRequest(_)
        ));
        s.update(&tenant("b"), found, false, NOW).await.unwrap();
        s.delete(&tenant("b"), &id).await.unwrap();
        assert_eq!(vault.live_keys(), MAX_PER_TENANT - 1);
        assert_eq!(s.get(&tenant("b"), &id).await.unwrap_err(), MdocError::NotFound("IACA"));
    }
}
