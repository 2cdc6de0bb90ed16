//! Postgres restarting under the server (a failover, an upgrade): while it is away `/readyz`
//! answers 503 (the balancer sends no one), a push answers 503 with `Retry-After` (the device
//! keeps its writes and retries), and once it is back everything resumes with nothing lost and
//! nothing applied twice. The cluster is a private one this test starts, stops and starts again.

use crate::{helpers::spawn_app_on, sync_fixtures::*};
use app::domain::Role;
use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

/// A Postgres cluster of this test's own, on a free port, removed when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn create() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Debian's postgresql is installed (scripts/ensure-postgres.sh installs it)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .max()
            .expect("a Postgres version");
        let dir = std::env::temp_dir().join(format!("fc_pg_{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = crate::helpers::free_port();
        let cluster = Self { bin, data: dir.join("data"), port };
        if is_root() {
            assert!(Command::new("chown").arg("postgres").arg(&dir).status().unwrap().success());
        }
        let initdb = cluster
            .as_postgres("initdb")
            .args(["-U", "postgres", "--auth=trust", "-D"])
            .arg(&cluster.data)
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb failed");
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let log = self.data.parent().unwrap().join("server.log");
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off", self.port);
        let status = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(log)
            .args(["-w", "-o", &options, "start"])
            .status();
        assert!(status.unwrap().success(), "the cluster did not start");
    }

    /// A fast shutdown: open connections are cut, as in a failover.
    fn stop(&self) {
        let status =
            self.as_postgres("pg_ctl").arg("-D").arg(&self.data).args(["-w", "-m", "fast", "stop"]).status();
        assert!(status.unwrap().success(), "the cluster did not stop");
    }

    fn as_postgres(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.stdout(std::process::Stdio::null());
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ =
            self.as_postgres("pg_ctl").arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]).status();
        let _ = std::fs::remove_dir_all(self.data.parent().unwrap());
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

#[tokio::test]
async fn while_postgres_restarts_the_server_says_503_and_afterwards_nothing_is_lost() {
    let cluster = Cluster::create();
    cluster.start();
    let app = spawn_app_on(&cluster.url(), |_| {}).await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let http = reqwest::Client::new();
    tech.mutate(customer("Before the restart").1).await;
    tech.sync().await;
    assert_eq!(tech.engine.pending_count(), 0);

    cluster.stop();
    let ready = http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "the balancer must stop sending requests here");
    assert_eq!(
        http.get(app.url("/healthz")).send().await.unwrap().status(),
        200,
        "the process itself is fine"
    );
    tech.mutate(customer("During the restart").1).await;
    let req = tech.engine.push_request(20).expect("a write is pending");
    let resp = tech.http.post(app.url("/api/sync/push")).json(&req).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key(reqwest::header::RETRY_AFTER), "the device is told when to retry");
    assert_eq!(tech.engine.pending_count(), 1, "the device keeps its write");

    cluster.start();
    let until = Instant::now() + Duration::from_secs(30);
    while http.get(app.url("/readyz")).send().await.unwrap().status() != 200 {
        assert!(Instant::now() < until, "the server did not become ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tech.push_all().await.expect("the push goes through once Postgres is back");
    tech.pull_all(None).await.unwrap();
    assert_eq!(tech.engine.pending_count(), 0);
    assert_eq!(count(&app, "select count(*) from customers").await, 2, "each write applied once");
    assert_eq!(count(&app, "select count(*) from mutation_log").await, 2);
}
