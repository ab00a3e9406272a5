//! `callseal policy keygen | publish | verify` as an admin and a client run
//! them.

use std::os::unix::fs::PermissionsExt;

use super::{Store, pilot, stderr};

#[test]
fn keygen_publish_verify() {
    let store = Store::new("signed");
    pilot(&store);
    let key = store.dir.join("admin.key");
    let key_s = key.to_str().unwrap();
    let tenant = store.ok(&["keygen", "--out", key_s]).trim().to_owned();
    assert_eq!(tenant.len(), 64, "{tenant}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::read_to_string(store.dir.join("admin.key.pub"))
            .unwrap()
            .trim(),
        tenant
    );
    // The key is never overwritten.
    let again = store.run(&["keygen", "--out", key_s]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");

    let signed = store.dir.join("signed.json");
    let signed_s = signed.to_str().unwrap();
    store.ok(&[
        "publish",
        "--key",
        key_s,
        "--out",
        signed_s,
        "--issued-at",
        "1796169600",
    ]);
    let v = store.json(&["verify", "--tenant-key", &tenant, "--json", signed_s]);
    assert_eq!(v["serial"], 1);
    assert_eq!(v["issued_at"], 1_796_169_600u64);
    assert_eq!(v["document"]["user_policies"], serde_json::json!({}));
    // Each publish takes the next serial; the key file keeps it mode 0600.
    store.ok(&["publish", "--key", key_s, "--out", signed_s]);
    let pub_file = store.dir.join("admin.key.pub");
    let v = store.json(&[
        "verify",
        "--tenant-key",
        pub_file.to_str().unwrap(),
        "--json",
        signed_s,
    ]);
    assert_eq!(v["serial"], 2);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A serial that does not go up is refused, and nothing is written.
    let before = std::fs::read(&signed).unwrap();
    let o = store.run(&[
        "publish", "--key", key_s, "--out", signed_s, "--serial", "2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(stderr(&o).contains("not above 2"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&signed).unwrap(), before);

    // A symlinked or malformed key file is refused, and so is a "secret"
    // that only parses leniently.
    let link = store.dir.join("link.key");
    std::os::unix::fs::symlink(&key, &link).unwrap();
    let o = store.run(&[
        "publish",
        "--key",
        link.to_str().unwrap(),
        "--out",
        signed_s,
    ]);
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    let plus = store.dir.join("plus.key");
    std::fs::write(
        &plus,
        format!(
            "{{\"format\": \"callseal-policy-key/1\", \"secret\": \"{}\", \"last_serial\": 0}}",
            "+a".repeat(32)
        ),
    )
    .unwrap();
    let o = store.run(&[
        "publish",
        "--key",
        plus.to_str().unwrap(),
        "--out",
        signed_s,
    ]);
    assert!(stderr(&o).contains("not 64 hex digits"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&signed).unwrap(), before);

    // A client that saw serial 3 refuses serial 2 (rollback), with its code.
    let o = store.run(&[
        "verify",
        "--tenant-key",
        &tenant,
        "--last-serial",
        "3",
        signed_s,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: replay: "), "{}", stderr(&o));
    // Another tenant's key.
    let other = store.dir.join("other.key");
    let other_tenant = store.ok(&["keygen", "--out", other.to_str().unwrap()]);
    let o = store.run(&["verify", "--tenant-key", other_tenant.trim(), signed_s]);
    assert!(
        stderr(&o).starts_with("error: wrong-peer: "),
        "{}",
        stderr(&o)
    );
    // One changed byte of the payload.
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = String::from_utf8(bytes.clone())
        .unwrap()
        .find("\"payload\": \"")
        .unwrap()
        + 20;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&signed, &bytes).unwrap();
    let o = store.run(&["verify", "--tenant-key", &tenant, signed_s]);
    assert!(
        stderr(&o).starts_with("error: authentication-failed: "),
        "{}",
        stderr(&o)
    );
}
