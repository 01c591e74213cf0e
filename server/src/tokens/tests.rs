use super::*;
use crate::auth::{AuthError, TokenCache};
use std::os::unix::fs::PermissionsExt;

#[test]
fn create_verify_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = TokenStore::open(dir.path()).unwrap();
    assert!(store.list().is_empty());

    let (id, token) = store.create("acme", &["10.0.0.0/8".into()]).unwrap();
    assert_eq!(id.len(), 8);
    assert!(token.starts_with(&format!("peeper_{id}_")), "{token}");
    assert_eq!(token.len(), "peeper_".len() + 8 + 1 + 43);
    assert_eq!(token_id(&token), Some(id.as_str()));

    let (id2, token2) = store.create("other", &[]).unwrap();
    assert_ne!(id, id2);
    assert_ne!(token, token2);

    // A fresh handle sees both, verifies both, refuses look-alikes.
    let store = TokenStore::open(dir.path()).unwrap();
    assert_eq!(store.list().len(), 2);
    assert_eq!(store.verify(&token).unwrap().tenant, "acme");
    assert_eq!(store.verify(&token2).unwrap().tenant, "other");
    assert_eq!(store.list()[0].allow, vec!["10.0.0.0/8".to_string()]);
    let mut wrong = token.clone().into_bytes();
    let last = wrong.len() - 1;
    wrong[last] = if wrong[last] == b'A' { b'B' } else { b'A' };
    assert!(store.verify(std::str::from_utf8(&wrong).unwrap()).is_none());
    let other_id = token.replacen(&id, &id2, 1);
    assert!(
        store.verify(&other_id).is_none(),
        "secret of one id with another id"
    );
    assert!(store.verify("peeper_nothing").is_none());

    let mut store = store;
    let revoked = store.revoke(&id).unwrap();
    assert_eq!(revoked.tenant, "acme");
    assert!(store.verify(&token).is_none());
    let store = TokenStore::open(dir.path()).unwrap();
    assert_eq!(store.list().len(), 1);
    assert!(store.verify(&token).is_none());
    assert!(store.verify(&token2).is_some());

    let mut store = store;
    assert!(matches!(
        store.revoke("deadbeef"),
        Err(TokenError::UnknownId(_))
    ));
}

#[test]
fn file_holds_the_hash_not_the_token_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = TokenStore::open(dir.path().join("sub")).unwrap();
    let (_, token) = store.create("acme", &[]).unwrap();
    let path = dir.path().join("sub").join(TOKENS_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let secret = token.rsplit('_').next().unwrap();
    assert!(!text.contains(secret), "the secret is on disk: {text}");
    assert!(text.contains(&hex(&sha256(token.as_bytes()))));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(TOKENS_FILE)]);
}

#[test]
fn tenant_and_cidr_validation() {
    for good in ["a", "acme-prod", "A.b_c-9", &"x".repeat(64)] {
        validate_tenant(good).unwrap();
    }
    for bad in ["", "with space", "ünï", "a/b", &"x".repeat(65)] {
        assert!(validate_tenant(bad).is_err(), "{bad:?}");
    }
    for good in ["10.0.0.0/8", "192.168.1.1", "2001:db8::/32", "::1"] {
        validate_cidr(good).unwrap();
    }
    for bad in ["10.0.0.0/33", "host", "10.0.0/8", "::/129", "1.2.3.4/x"] {
        assert!(validate_cidr(bad).is_err(), "{bad:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = TokenStore::open(dir.path()).unwrap();
    assert!(matches!(
        store.create("bad name", &[]),
        Err(TokenError::InvalidTenant(_))
    ));
    assert!(matches!(
        store.create("ok", &["nope".into()]),
        Err(TokenError::InvalidCidr(_))
    ));
    assert!(store.list().is_empty());
}

#[test]
fn encodings() {
    assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    assert_eq!(unhex("00abff").unwrap(), vec![0x00, 0xab, 0xff]);
    assert!(unhex("abc").is_none() && unhex("zz").is_none());
    assert_eq!(base64url(b"\xfb\xff"), "-_8");
    assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64url(&[0u8; 32]).len(), 43);
}

#[test]
fn corrupt_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(TOKENS_FILE), "{not json").unwrap();
    let err = TokenStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains(TOKENS_FILE), "{err}");
}

#[test]
fn cache_authenticates_and_follows_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = TokenStore::open(dir.path()).unwrap();
    let (id, token) = store.create("acme", &[]).unwrap();
    let cache = TokenCache::load(dir.path()).unwrap();
    let header = format!("Bearer {token}");
    let cred = cache.authenticate(Some(header.as_bytes())).unwrap();
    assert_eq!(&*cred.tenant, "acme");
    assert_eq!(cred.id, id);

    assert_eq!(cache.authenticate(None).unwrap_err(), AuthError::Missing);
    assert_eq!(
        cache.authenticate(Some(b"Basic abc")).unwrap_err(),
        AuthError::NotBearer
    );
    assert_eq!(
        cache.authenticate(Some(b"Bearer nope")).unwrap_err(),
        AuthError::Malformed
    );
    let forged = format!("Bearer peeper_{id}_{}", "A".repeat(43));
    assert_eq!(
        cache.authenticate(Some(forged.as_bytes())).unwrap_err(),
        AuthError::Invalid
    );

    store.revoke(&id).unwrap();
    let (_, fresh) = store.create("new", &[]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        cache.authenticate(Some(header.as_bytes())).unwrap_err(),
        AuthError::Invalid
    );
    let fresh_header = format!("bearer {fresh}");
    assert_eq!(
        &*cache
            .authenticate(Some(fresh_header.as_bytes()))
            .unwrap()
            .tenant,
        "new"
    );
}

#[test]
fn rate_limit_is_stored_and_old_files_still_read() {
    let dir = tempfile::tempdir().unwrap();
    // A file written before `rate_limit` existed.
    std::fs::write(
        dir.path().join(TOKENS_FILE),
        r#"{"tokens":[{"id":"0123abcd","tenant":"old","sha256":"00","created":1,"allow":[]}]}"#,
    )
    .unwrap();
    let mut store = TokenStore::open(dir.path()).unwrap();
    assert_eq!(store.list()[0].rate_limit, None);
    let (id, token) = store
        .create_with("fast", &["127.0.0.1".into()], Some(250))
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).unwrap();
    assert!(text.contains("\"rate_limit\": 250"), "{text}");
    assert!(!text.contains("\"rate_limit\": null"), "{text}");
    let cache = TokenCache::load(dir.path()).unwrap();
    let cred = cache
        .authenticate(Some(format!("Bearer {token}").as_bytes()))
        .unwrap();
    assert_eq!(cred.limiter.rate(), 250);
    cred.check_address("127.0.0.1".parse().unwrap()).unwrap();
    let err = cred
        .check_address("10.9.9.9".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("10.9.9.9") && err.contains(&id), "{err}");
    assert!(!err.contains(&token));
}

#[test]
fn a_token_created_by_root_belongs_to_the_data_dirs_owner() {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        panic!(
            "this test checks what root's `token create` leaves: run it as root (scripts/test.sh does)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // The service's directory, owned by its user (here: nobody).
    rustix::fs::chown(
        dir.path(),
        Some(rustix::fs::Uid::from_raw(65534)),
        Some(rustix::fs::Gid::from_raw(65534)),
    )
    .unwrap();
    TokenStore::open(dir.path())
        .unwrap()
        .create("acme", &[])
        .unwrap();
    let meta = std::fs::metadata(dir.path().join(TOKENS_FILE)).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}
