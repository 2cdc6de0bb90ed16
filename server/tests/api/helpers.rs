use app::domain::{EmailAddress, Password, PersonName, Role};
use reqwest::{redirect, Client, Response};
use serde_json::{json, Value};
use server::{
    config::Config,
    db,
    startup::Application,
    users::{self, NewUser},
};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

pub const PASSWORD: &str = "a long test password";

/// The server under test, with a database of its own that is dropped afterwards.
pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    /// The server's version clock: whatever a test writes to synced tables takes versions from it.
    pub clock: std::sync::Arc<server::sync::clock::VersionClock>,
    /// Stops the server as SIGTERM would; `serving` then ends.
    pub stop: server::startup::StopHandle,
    pub serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    admin_url: String,
    db_name: String,
    blob_dir: String,
    blob_s3: Option<server::config::S3Bucket>,
    database_url: String,
}

/// A loopback port nothing listens on now (bound, read, let go: racy in theory, fine in tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn base_database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| server::config::DEFAULT_DATABASE_URL.into())
}

/// Replaces the database name at the end of a Postgres URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (head, tail) = url.rsplit_once('/').expect("a database URL has a path");
    let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{head}/{name}{query}")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server's configuration for a test: `database_url`, any free port, no built bundle.
fn test_config(database_url: &str) -> Config {
    Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(database_url.to_string()),
        "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".into()),
        "LEPTOS_SITE_ROOT" => Some("target/test-site-not-built".into()),
        _ => None,
    })
    .expect("test configuration is valid")
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(&base_database_url(), tweak).await
}

/// A server over a new database of the Postgres server at `server_url` (any database's URL).
pub async fn spawn_app_on(server_url: &str, tweak: impl FnOnce(&mut Config)) -> TestApp {
    server::telemetry::init("warn");
    let db_name = format!("fc_test_{}", Uuid::now_v7().simple());
    let admin_url = with_database(server_url, "postgres");
    let database_url = with_database(server_url, &db_name);
    let mut config = test_config(&database_url);
    config.blob_dir = std::env::temp_dir().join(&db_name).to_string_lossy().into_owned();
    tweak(&mut config);
    let (config_blob_dir, blob_s3) = (config.blob_dir.clone(), config.blob_s3.clone());
    let app = Application::build(config).await.expect("the server starts");
    let base = format!("http://{}", app.local_addr());
    let (pool, clock, stop) = (app.pool.clone(), app.clock.clone(), app.stop_handle());
    let serving = Some(tokio::spawn(app.run_until_stopped()));
    TestApp {
        base,
        pool,
        clock,
        stop,
        serving,
        admin_url,
        db_name,
        blob_dir: config_blob_dir,
        blob_s3,
        database_url,
    }
}

/// Another server process over a test app's database (its own listener, pool and clock), as a
/// second instance behind a load balancer; stopped when dropped.
pub struct OtherProcess {
    pub base: String,
    stop: server::startup::StopHandle,
}

impl OtherProcess {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for OtherProcess {
    fn drop(&mut self) {
        self.stop.stop();
    }
}

impl TestApp {
    pub async fn another_process(&self) -> OtherProcess {
        let mut config = test_config(&self.database_url);
        config.blob_dir = self.blob_dir.clone();
        config.blob_s3 = self.blob_s3.clone();
        let app = Application::build(config).await.expect("a second process starts over the same database");
        let base = format!("http://{}", app.local_addr());
        let stop = app.stop_handle();
        tokio::spawn(app.run_until_stopped());
        OtherProcess { base, stop }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.blob_dir);
        let (admin_url, db_name) = (self.admin_url.clone(), self.db_name.clone());
        // Drop is synchronous: tidy up on a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin_url).await.ok()?;
                conn.execute(format!("drop database if exists {db_name} with (force)").as_str()).await.ok()
            })
        })
        .join();
    }
}

impl TestApp {
    pub fn database_url(&self) -> String {
        self.database_url.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> Client {
        Client::builder().cookie_store(true).redirect(redirect::Policy::none()).build().unwrap()
    }

    pub async fn create_company(&self, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query("insert into companies (id, name) values ($1, $2)")
            .bind(id)
            .bind(name)
            .execute(&self.pool)
            .await
            .unwrap();
        id
    }

    pub async fn create_user(&self, company_id: Uuid, email: &str, role: Role) -> Uuid {
        let user = NewUser {
            name: PersonName::parse(&format!("Person {email}")).unwrap(),
            email: EmailAddress::parse(email).unwrap(),
            role,
            password: Password::parse(PASSWORD).unwrap(),
        };
        let mut tx = self.pool.begin().await.unwrap();
        let ticket = self.clock.begin(company_id, &mut tx).await.unwrap();
        let id = users::insert(&mut *tx, company_id, None, user, ticket.version()).await.unwrap().id;
        ticket.commit(tx).await.unwrap();
        id
    }

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        client
            .post(self.url("/api/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// A client signed in as a new user of `role` in `company_id`.
    pub async fn signed_in(&self, company_id: Uuid, email: &str, role: Role) -> (Client, Uuid) {
        let id = self.create_user(company_id, email, role).await;
        let client = self.client();
        let resp = self.login(&client, email, PASSWORD).await;
        assert_eq!(resp.status(), 200, "sign-in of {email} failed");
        (client, id)
    }

    pub async fn migrations_applied(&self) -> bool {
        db::migrations_applied(&self.pool).await.unwrap()
    }
}

/// The `error.message` of a JSON error body (and asserts the body has that shape).
pub async fn error_message(resp: Response) -> String {
    let body: Value = resp.json().await.expect("error bodies are JSON");
    body["error"]["message"].as_str().expect("error.message is a string").to_string()
}
