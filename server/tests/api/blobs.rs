use crate::{
    helpers::{error_message, spawn_app, spawn_app_with},
    sync_fixtures::*,
};
use app::{
    domain::Role,
    sync::mutation::{AttachmentAdd, Mutation},
};
use reqwest::header;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub(crate) fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A tiny but real JPEG header plus noise: only the magic number is inspected, the rest hashed.
pub(crate) fn photo(seed: u8) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.extend((0..4000u32).map(|i| (i as u8).wrapping_mul(seed)));
    v
}

#[tokio::test]
async fn blobs_are_content_addressed_idempotent_and_checked() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let bytes = photo(7);
    let url = app.url(&format!("/api/blobs/{}", sha(&bytes)));

    let put = |body: Vec<u8>, ct: &'static str, url: String| {
        let http = tech.http.clone();
        async move { http.put(url).header(header::CONTENT_TYPE, ct).body(body).send().await.unwrap() }
    };
    assert_eq!(put(bytes.clone(), "image/jpeg", url.clone()).await.status(), 201);
    assert_eq!(put(bytes.clone(), "image/jpeg", url.clone()).await.status(), 200, "a retry is a no-op");
    assert_eq!(tech.http.head(&url).send().await.unwrap().status(), 200);
    let got = tech.http.get(&url).send().await.unwrap();
    assert_eq!(got.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);

    // A cut upload does not match its address.
    let other = photo(9);
    let wrong = app.url(&format!("/api/blobs/{}", sha(&other)));
    let resp = put(bytes[..100].to_vec(), "image/jpeg", wrong.clone()).await;
    assert_eq!(resp.status(), 400);
    assert!(error_message(resp).await.contains("Send it again"));
    assert_eq!(tech.http.get(&wrong).send().await.unwrap().status(), 404);

    assert_eq!(put(other.clone(), "application/pdf", wrong.clone()).await.status(), 415);
    assert_eq!(
        put(
            vec![0; 11 * 1024 * 1024],
            "image/jpeg",
            app.url(&format!("/api/blobs/{}", sha(&vec![0; 11 * 1024 * 1024])))
        )
        .await
        .status(),
        413
    );
    assert_eq!(tech.http.get(app.url("/api/blobs/not-a-hash")).send().await.unwrap().status(), 400);
    assert_eq!(app.client().get(&url).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_blob_is_readable_only_where_its_attachment_is() {
    let app = spawn_app().await;
    let acme = Company::new(&app, "Acme Air").await;
    let rival = Company::new(&app, "Rival").await;
    let mut tech = acme.device(&app, "t@acme.test", Role::Technician).await;
    let other_tech = acme.device(&app, "t2@acme.test", Role::Technician).await;
    let manager = acme.device(&app, "m@acme.test", Role::Manager).await;
    let outsider = rival.device(&app, "m@rival.test", Role::Manager).await;
    let bytes = photo(3);
    let hash = sha(&bytes);
    let url = app.url(&format!("/api/blobs/{hash}"));
    let resp = tech
        .http
        .put(&url)
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let (_, _, k) = new_consultation(&mut tech).await;
    tech.mutate(Mutation::AttachmentAdd(AttachmentAdd {
        id: Uuid::now_v7(),
        consultation_id: k,
        kind: "photo".into(),
        sha256: hash.clone(),
        content_type: "image/jpeg".into(),
        byte_size: bytes.len() as u64,
    }))
    .await;
    tech.sync().await;

    assert_eq!(manager.http.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(other_tech.http.get(&url).send().await.unwrap().status(), 404, "not their consultation");
    assert_eq!(outsider.http.get(&url).send().await.unwrap().status(), 404, "never across companies");
    // The rival uploading the same bytes gets a copy of its own, not access to Acme's.
    let resp =
        outsider.http.put(&url).header(header::CONTENT_TYPE, "image/jpeg").body(bytes).send().await.unwrap();
    assert_eq!(resp.status(), 201);
}

/// The bytes must be the image type they claim; a company's storage has a quota, refused with a
/// 507 a person can read; and knowing a hash reads nothing, even for a manager, until the blob is
/// attached to something.
#[tokio::test]
async fn uploads_are_what_they_claim_within_the_quota_and_unattached_blobs_stay_private() {
    let app = spawn_app_with(|c| c.blob_quota_bytes = 10_000).await;
    let co = Company::new(&app, "Acme Air").await;
    let tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let put = |body: Vec<u8>, ct: &'static str| {
        let (http, url) = (tech.http.clone(), app.url(&format!("/api/blobs/{}", sha(&body))));
        async move { http.put(url).header(header::CONTENT_TYPE, ct).body(body).send().await.unwrap() }
    };
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let resp = put(html, "image/jpeg").await;
    assert_eq!(resp.status(), 415);
    assert!(error_message(resp).await.contains("not a image/jpeg image"));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend([1u8; 100]);
    assert_eq!(put(png.clone(), "image/jpeg").await.status(), 415, "a PNG is not a JPEG");
    assert_eq!(put(png, "image/png").await.status(), 201);

    // Within 10,000 bytes: 4,004 + 4,004 fit, a third does not.
    assert_eq!(put(photo(1), "image/jpeg").await.status(), 201);
    assert_eq!(put(photo(2), "image/jpeg").await.status(), 201);
    let full = put(photo(5), "image/jpeg").await;
    assert_eq!(full.status(), 507);
    assert!(error_message(full).await.contains("photo storage"));
    assert_eq!(put(photo(1), "image/jpeg").await.status(), 200, "what is stored can be sent again");

    // Unattached: its uploader may check it; the manager's knowing the hash is not enough.
    let url = app.url(&format!("/api/blobs/{}", sha(&photo(1))));
    assert_eq!(tech.http.head(&url).send().await.unwrap().status(), 200);
    assert_eq!(manager.http.get(&url).send().await.unwrap().status(), 404);
}
