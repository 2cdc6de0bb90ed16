//! Blobs in an S3 bucket (`blobs::open`, FIELDCLOSE_BLOB_S3_BUCKET): upload, read, attach and the
//! quota, against moto, an S3-compatible server from PyPI that `scripts/install-tools.sh`
//! installs and each test here starts on a port of its own. Two processes share the bucket.

use crate::{
    blobs::{photo, sha},
    helpers::{error_message, free_port, spawn_app_with},
    sync_fixtures::*,
};
use app::{
    domain::Role,
    sync::mutation::{AttachmentAdd, Mutation},
};
use reqwest::header;
use server::config::S3Bucket;
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use uuid::Uuid;

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Self {
        let port = free_port();
        let mut moto = Moto { child: Self::spawn(port), endpoint: format!("http://127.0.0.1:{port}") };
        moto.wait_up().await;
        moto
    }

    fn spawn(port: u16) -> Child {
        Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (moto is installed by scripts/install-tools.sh)")
    }

    async fn wait_up(&mut self) {
        let until = Instant::now() + Duration::from_secs(60);
        while reqwest::get(&self.endpoint).await.is_err() {
            assert!(
                Instant::now() < until,
                "moto did not start: is it installed? (pip install 'moto[server]')"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again on the same port, empty (moto keeps nothing).
    async fn restart(&mut self) {
        self.stop();
        let port = self.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        self.child = Self::spawn(port);
        self.wait_up().await;
    }

    /// A new, empty bucket, and the settings that reach it.
    async fn bucket(&self) -> S3Bucket {
        let name = format!("fieldclose-{}", Uuid::now_v7().simple());
        let made = reqwest::Client::new().put(format!("{}/{name}", self.endpoint)).send().await.unwrap();
        assert!(made.status().is_success(), "bucket not made: {}", made.status());
        let option = |k: &str, v: &str| (k.to_string(), v.to_string());
        S3Bucket {
            name,
            options: vec![
                option("endpoint", &self.endpoint),
                option("allow_http", "true"),
                option("region", "us-east-1"),
                option("access_key_id", "test"),
                option("secret_access_key", "test"),
            ],
        }
    }

    /// The keys in `bucket`, read from the server itself (not through the app).
    async fn keys(&self, bucket: &S3Bucket) -> Vec<String> {
        let url = format!("{}/{}?list-type=2", self.endpoint, bucket.name);
        let xml = reqwest::get(url).await.unwrap().text().await.unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|k| k.split_once("</Key>"))
            .map(|(k, _)| k.to_string())
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn photos_live_in_the_bucket_read_attached_and_within_the_quota_from_any_process() {
    let moto = Moto::start().await;
    let bucket = moto.bucket().await;
    let app = spawn_app_with(|c| {
        c.blob_s3 = Some(bucket.clone());
        c.blob_quota_bytes = 10_000;
    })
    .await;
    let other = app.another_process().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let http = tech.http.clone();
    let put = |body: Vec<u8>| {
        let (http, url) = (http.clone(), app.url(&format!("/api/blobs/{}", sha(&body))));
        async move { http.put(url).header(header::CONTENT_TYPE, "image/jpeg").body(body).send().await.unwrap() }
    };

    // Upload: the bytes are in the bucket, under the company.
    let bytes = photo(7);
    assert_eq!(put(bytes.clone()).await.status(), 201);
    assert_eq!(put(bytes.clone()).await.status(), 200, "a retry is a no-op");
    let key = format!("{}/{}/{}", co.id, &sha(&bytes)[..2], sha(&bytes));
    assert_eq!(moto.keys(&bucket).await, vec![key], "one object, at the company's key");

    // Read, through either process.
    let path = format!("/api/blobs/{}", sha(&bytes));
    for base in [app.url(&path), other.url(&path)] {
        let got = tech.http.get(&base).send().await.unwrap();
        assert_eq!(got.status(), 200, "{base}");
        assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
    }

    // Attach: the manager reads it once it is attached to a consultation.
    assert_eq!(manager.http.get(other.url(&path)).send().await.unwrap().status(), 404, "not attached yet");
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.mutate(Mutation::AttachmentAdd(AttachmentAdd {
        id: Uuid::now_v7(),
        consultation_id: k,
        kind: "photo".into(),
        sha256: sha(&bytes),
        content_type: "image/jpeg".into(),
        byte_size: bytes.len() as u64,
    }))
    .await;
    tech.sync().await;
    let got = manager.http.get(other.url(&path)).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);

    // The quota (10,000 bytes): a second photo fits, a third is refused and never reaches the bucket.
    assert_eq!(put(photo(2)).await.status(), 201);
    let full = put(photo(5)).await;
    assert_eq!(full.status(), 507);
    assert!(error_message(full).await.contains("photo storage"));
    assert_eq!(moto.keys(&bucket).await.len(), 2);
}

/// An unreachable bucket is an error a device retries (the photo stays on it), never a lost row:
/// once the bucket is back, the same upload stores the bytes.
#[tokio::test]
async fn an_upload_while_the_bucket_is_out_of_reach_fails_and_succeeds_when_sent_again() {
    let mut moto = Moto::start().await;
    let bucket = moto.bucket().await;
    let app = spawn_app_with(|c| c.blob_s3 = Some(bucket.clone())).await;
    let co = Company::new(&app, "Acme Air").await;
    let tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let bytes = photo(3);
    let url = app.url(&format!("/api/blobs/{}", sha(&bytes)));
    let send = || tech.http.put(&url).header(header::CONTENT_TYPE, "image/jpeg").body(bytes.clone()).send();

    moto.stop();
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 503, "a device retries it by itself");
    assert!(resp.headers().contains_key(header::RETRY_AFTER));

    // The same port, a new (empty) server: the bucket is made again, the retry stores the bytes.
    moto.restart().await;
    reqwest::Client::new().put(format!("{}/{}", moto.endpoint, bucket.name)).send().await.unwrap();
    assert_eq!(send().await.unwrap().status(), 200, "the row was kept; the bytes are written now");
    assert_eq!(tech.http.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec(), bytes);
}
