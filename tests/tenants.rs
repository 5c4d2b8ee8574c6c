//! mDoc management API credentials against LocalStack: `statuslist tenant token` (what
//! `make tenant-token` runs) prints a bearer token whose hash, and only that, is stored with its
//! tenant and role; tokens can be withdrawn; bad input is refused.

use integration_tests::*;
use shared::adapters::dynamo::DynamoStore;
use shared::domain::tenant::Credential;
use shared::domain::tenant::{self, Role};
use shared::ports::TenantStore;

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(statuslist_cli())
        .args(args)
        .env("TENANTS_TABLE", stack_env("TENANTS_TABLE"))
        .output()
        .unwrap()
}

#[tokio::test]
async fn tenant_tokens_are_issued_stored_hashed_and_withdrawn() {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&localstack().await), tables());
    let tenant_id = format!("acme-{}", &jti()[..8]);
    let out = cli(&["tenant", "token", "--tenant", &tenant_id, "--role", "issuer"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_string();
    assert_eq!(
        tenant::bearer_token(Some(&format!("Bearer {token}"))),
        Ok(token.as_str()),
        "the last line is a well-formed bearer token"
    );
    let stored = store.credential(&tenant::token_hash(&token)).await.unwrap().unwrap();
    assert_eq!(
        (stored.tenant_id.as_str(), stored.role),
        (tenant_id.as_str(), Role::Issuer)
    );
    // Only the hash is a key: the token itself finds nothing.
    assert!(store.credential(&token).await.unwrap().is_none());

    // A hash is never overwritten.
    let again = Credential {
        tenant_id: "intruder".into(),
        role: Role::Admin,
        created_at: now(),
        label: String::new(),
    };
    assert!(store.put_credential(&tenant::token_hash(&token), &again).await.is_err());
    assert_eq!(
        store
            .credential(&tenant::token_hash(&token))
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        tenant_id
    );

    // Withdrawn once; the second time there is nothing to withdraw.
    let out = cli(&["tenant", "withdraw", "--token", &token]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(store.credential(&tenant::token_hash(&token)).await.unwrap().is_none());
    let out = cli(&["tenant", "withdraw", "--token", &token]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such token"));
}

#[tokio::test]
async fn bad_tenants_and_roles_are_refused() {
    for args in [
        ["tenant", "token", "--tenant", "Not Valid", "--role", "admin"],
        ["tenant", "token", "--tenant", "-x", "--role", "admin"],
        ["tenant", "token", "--tenant", "acme", "--role", "root"],
    ] {
        let out = cli(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: no token printed");
        assert!(!out.stderr.is_empty(), "{args:?}: a reason is given");
    }
}
