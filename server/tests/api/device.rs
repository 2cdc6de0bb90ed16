//! A native sync client for tests: the shared engine (`app::sync::engine`) over reqwest, signed
//! in as one person. Dropping a Device and reopening its store is a killed and restarted tab.

use crate::helpers::TestApp;
use app::sync::{
    engine::{Engine, MemoryStore},
    mutation::Mutation,
    protocol::{Entity, PullResponse, PushRequest, PushResponse},
};
use chrono::Utc;
use reqwest::Client;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct Device {
    pub http: Client,
    pub base: String,
    pub store: MemoryStore,
    pub engine: Engine<MemoryStore>,
    pub user_id: Uuid,
}

/// Read through `Debug` in the panic messages of `unwrap`.
#[derive(Debug)]
#[allow(dead_code)]
pub enum SendError {
    Network(String),
    Status(u16, String),
}

impl Device {
    pub async fn new(app: &TestApp, http: Client, user_id: Uuid) -> Self {
        Self::at(app.base.clone(), http, user_id).await
    }

    /// A new device profile talking to the server at `base` (a proxy, say).
    pub async fn at(base: String, http: Client, user_id: Uuid) -> Self {
        let store = MemoryStore::default();
        let engine = Engine::open(store.clone()).await.unwrap();
        Self { http, base, store, engine, user_id }
    }

    /// The same profile after the tab was killed: whatever reached the store is all there is.
    pub async fn restart(&mut self) {
        self.engine = Engine::open(self.store.clone()).await.unwrap();
    }

    pub async fn mutate(&mut self, m: Mutation) -> u64 {
        self.engine.mutate(&m, Utc::now()).await.expect("a valid mutation is queued")
    }

    pub async fn send_push(&self, req: &PushRequest) -> Result<PushResponse, SendError> {
        post(&self.http, &format!("{}/api/sync/push", self.base), req).await
    }

    /// Pushes everything pending, in batches, until the server has processed it all.
    pub async fn push_all(&mut self) -> Result<(), SendError> {
        while let Some(req) = self.engine.push_request(20) {
            match self.send_push(&req).await {
                Ok(resp) => self.engine.on_push_response(&resp).await.unwrap(),
                Err(SendError::Status(409, body)) if body.contains("client_id_reused") => {
                    self.engine.on_client_id_reused().await.unwrap()
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub async fn pull_once(&mut self, limit: Option<u32>) -> Result<PullResponse, SendError> {
        let req = self.engine.pull_request(limit);
        let resp: PullResponse = post(&self.http, &format!("{}/api/sync/pull", self.base), &req).await?;
        self.engine.on_pull_response(&resp, Utc::now()).await.unwrap();
        Ok(resp)
    }

    pub async fn pull_all(&mut self, limit: Option<u32>) -> Result<(), SendError> {
        loop {
            if !self.pull_once(limit).await?.has_more {
                return Ok(());
            }
        }
    }

    pub async fn sync(&mut self) {
        self.push_all().await.expect("push");
        self.pull_all(None).await.expect("pull");
    }

    pub fn rows(&self) -> BTreeMap<(Entity, Uuid), (i64, Value)> {
        self.engine.state().rows.iter().map(|(k, r)| (*k, (r.version, r.data.clone()))).collect()
    }

    pub fn has(&self, entity: Entity, id: Uuid) -> bool {
        self.engine.state().rows.contains_key(&(entity, id))
    }

    pub fn row(&self, entity: Entity, id: Uuid) -> Option<&Value> {
        self.engine.state().rows.get(&(entity, id)).map(|r| &r.data)
    }

    /// The row's revision as this device last received it: the base of a field update.
    pub fn revision_of(&self, entity: Entity, id: Uuid) -> i64 {
        self.row(entity, id).and_then(|r| r["revision"].as_i64()).unwrap_or(0)
    }
}

pub async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    http: &Client,
    url: &str,
    body: &B,
) -> Result<T, SendError> {
    let resp = http.post(url).json(body).send().await.map_err(|e| SendError::Network(e.to_string()))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(SendError::Status(status, resp.text().await.unwrap_or_default()));
    }
    resp.json().await.map_err(|e| SendError::Network(e.to_string()))
}
