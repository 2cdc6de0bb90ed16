//! The engine's [`Store`] in the browser: IndexedDB, one database per signed-in person.
//!
//! Object stores: `meta` (one record: client id, cookie, ids, last sync), `outbox` (pending
//! mutations by id), `rejected` (refused mutations with reasons, by id), `rows` (server records
//! by "entity:id"). Every [`Store`] step issues all its requests in ONE readwrite transaction
//! and only then awaits the transaction's `complete` event — nothing else is awaited inside it
//! (an await on a fetch would let IndexedDB auto-commit half a step). A killed tab therefore
//! keeps all of a step or none of it: the row change and its outbox entry land together.

use super::{
    engine::{ClientState, Rejected, ServerRow, Store},
    protocol::{Cookie, Entity, MutationEnvelope, PatchOp, PullResponse, StoredRow},
};
use chrono::{DateTime, Utc};
use js_sys::{Array, Promise};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

const VERSION: u32 = 2;
/// The engine's stores: `init` clears and rewrites exactly these.
const STORES: [&str; 4] = ["meta", "outbox", "rejected", "rows"];
/// Photos and signatures by SHA-256, outside the engine's state: `{type, blob, uploaded}`.
/// Never cleared by a reset or a re-key, so an unsent photo survives them.
const BLOBS: &str = "blobs";

#[derive(Clone)]
pub struct IdbStore {
    db: IdbDatabase,
}

#[derive(Debug, Clone)]
pub struct IdbError(pub String);

impl std::fmt::Display for IdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<JsValue> for IdbError {
    fn from(v: JsValue) -> Self {
        IdbError(
            v.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .or_else(|| v.as_string())
                .unwrap_or_else(|| format!("{v:?}")),
        )
    }
}

impl From<serde_json::Error> for IdbError {
    fn from(e: serde_json::Error) -> Self {
        IdbError(e.to_string())
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    client_id: Uuid,
    cookie: Option<Cookie>,
    last_mutation_id: u64,
    next_mutation_id: u64,
    last_synced_at: Option<DateTime<Utc>>,
}

/// Rows written per task of a pull's transaction (`apply_pull`).
const ROWS_PER_TASK: usize = 25;

/// A [`StoredRow`] written from a pull's row without copying its data.
#[derive(Serialize)]
struct StoredRowRef<'a> {
    entity: Entity,
    id: Uuid,
    version: i64,
    data: &'a serde_json::Value,
}

fn row_key(entity: Entity, id: Uuid) -> JsValue {
    JsValue::from_str(&format!("{}:{id}", entity.as_str()))
}

fn json<T: Serialize>(v: &T) -> Result<JsValue, IdbError> {
    Ok(JsValue::from_str(&serde_json::to_string(v)?))
}

fn parse<T: for<'de> Deserialize<'de>>(v: &JsValue) -> Result<T, IdbError> {
    let s = v.as_string().ok_or_else(|| IdbError("a stored record is not text".into()))?;
    Ok(serde_json::from_str(&s)?)
}

/// Resolves when an IndexedDB request succeeds.
async fn request(req: IdbRequest) -> Result<JsValue, IdbError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let ok_req = req.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &ok_req.result().unwrap_or(JsValue::UNDEFINED));
        });
        let err = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("IndexedDB request failed"));
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(err.unchecked_ref()));
    });
    Ok(JsFuture::from(promise).await?)
}

/// Resolves when a transaction has committed (or fails if it aborted).
async fn committed(tx: &IdbTransaction) -> Result<(), IdbError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let done = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let reject2 = reject.clone();
        let failed = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("the device storage refused the write"));
        });
        let aborted = Closure::once_into_js(move || {
            let _ = reject2.call1(
                &JsValue::NULL,
                &JsValue::from_str("the device storage write was aborted (disk full?)"),
            );
        });
        tx.set_oncomplete(Some(done.unchecked_ref()));
        tx.set_onerror(Some(failed.unchecked_ref()));
        tx.set_onabort(Some(aborted.unchecked_ref()));
    });
    JsFuture::from(promise).await?;
    Ok(())
}

impl IdbStore {
    /// Opens (creating or upgrading) the database `name`.
    pub async fn open(name: &str) -> Result<Self, IdbError> {
        let factory = web_sys::window()
            .and_then(|w| w.indexed_db().ok().flatten())
            .ok_or_else(|| IdbError("this browser has no IndexedDB (private mode?)".into()))?;
        let open = factory.open_with_u32(name, VERSION)?;
        let upgrade_req = open.clone();
        let upgrade = Closure::<dyn FnMut()>::new(move || {
            if let Ok(db) = upgrade_req.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                let names = db.object_store_names();
                for store in STORES.into_iter().chain([BLOBS]) {
                    if !names.contains(store) {
                        let _ = db.create_object_store(store);
                    }
                }
            }
        });
        open.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db: IdbDatabase = request(open.unchecked_into()).await?.dyn_into().map_err(IdbError::from)?;
        drop(upgrade);
        Ok(Self { db })
    }

    fn tx(&self, stores: &[&str]) -> Result<(IdbTransaction, Vec<IdbObjectStore>), IdbError> {
        let names = Array::new();
        for s in stores {
            names.push(&JsValue::from_str(s));
        }
        let tx = self.db.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite)?;
        let handles = stores.iter().map(|s| tx.object_store(s)).collect::<Result<Vec<_>, _>>()?;
        Ok((tx, handles))
    }

    /// Keeps a photo or signature on the device until it is uploaded (and after, to show it
    /// offline). Storing the same bytes twice is one record: the key is their hash.
    pub async fn put_blob(&self, sha256: &str, blob: &web_sys::Blob) -> Result<(), IdbError> {
        let (tx, s) = self.tx(&[BLOBS])?;
        let record = js_sys::Object::new();
        js_sys::Reflect::set(&record, &"type".into(), &blob.type_().into())?;
        js_sys::Reflect::set(&record, &"blob".into(), blob)?;
        js_sys::Reflect::set(&record, &"uploaded".into(), &JsValue::FALSE)?;
        s[0].put_with_key(&record, &JsValue::from_str(sha256))?;
        committed(&tx).await
    }

    pub async fn blob(&self, sha256: &str) -> Result<Option<web_sys::Blob>, IdbError> {
        let tx = self.db.transaction_with_str(BLOBS)?;
        let record = request(tx.object_store(BLOBS)?.get(&JsValue::from_str(sha256))?).await?;
        if record.is_undefined() {
            return Ok(None);
        }
        Ok(js_sys::Reflect::get(&record, &"blob".into())?.dyn_into().ok())
    }

    /// Blobs not yet on the server: (sha256, content type, bytes).
    pub async fn unsent_blobs(&self) -> Result<Vec<(String, String, web_sys::Blob)>, IdbError> {
        let tx = self.db.transaction_with_str(BLOBS)?;
        let store = tx.object_store(BLOBS)?;
        let keys_req = store.get_all_keys()?;
        let values_req = store.get_all()?;
        let keys = Array::from(&request(keys_req).await?);
        let values = Array::from(&request(values_req).await?);
        let mut out = vec![];
        for (key, record) in keys.iter().zip(values.iter()) {
            if js_sys::Reflect::get(&record, &"uploaded".into())?.is_truthy() {
                continue;
            }
            let kind = js_sys::Reflect::get(&record, &"type".into())?.as_string().unwrap_or_default();
            if let (Some(sha), Ok(blob)) =
                (key.as_string(), js_sys::Reflect::get(&record, &"blob".into())?.dyn_into::<web_sys::Blob>())
            {
                out.push((sha, kind, blob));
            }
        }
        Ok(out)
    }

    /// Signing out on a shared device: removes the person's records (customers, visits, quotes)
    /// and uploaded photos from this device, keeping only what was never sent (pending and
    /// refused writes, unsent photos) and forgetting the pull cursor, so that signing in again
    /// pulls everything afresh. One transaction: all of it or none.
    pub async fn forget_records(&self) -> Result<(), IdbError> {
        let (tx, s) = self.tx(&["meta", "rows", BLOBS])?;
        let meta = request(s[0].get(&JsValue::from_str("state"))?).await?;
        if !meta.is_undefined() {
            let meta: Meta = parse(&meta)?;
            s[0].put_with_key(&json(&Meta { cookie: None, ..meta })?, &JsValue::from_str("state"))?;
        }
        s[1].clear()?;
        let keys = Array::from(&request(s[2].get_all_keys()?).await?);
        let records = Array::from(&request(s[2].get_all()?).await?);
        for (key, record) in keys.iter().zip(records.iter()) {
            if js_sys::Reflect::get(&record, &"uploaded".into())?.is_truthy() {
                s[2].delete(&key)?;
            }
        }
        committed(&tx).await
    }

    pub async fn mark_uploaded(&self, sha256: &str) -> Result<(), IdbError> {
        let (tx, s) = self.tx(&[BLOBS])?;
        let key = JsValue::from_str(sha256);
        let record = request(s[0].get(&key)?).await?;
        if !record.is_undefined() {
            js_sys::Reflect::set(&record, &"uploaded".into(), &JsValue::TRUE)?;
            s[0].put_with_key(&record, &key)?;
        }
        committed(&tx).await
    }

    fn put_meta(store: &IdbObjectStore, s: &ClientState) -> Result<(), IdbError> {
        let meta = Meta {
            client_id: s.client_id,
            cookie: s.cookie,
            last_mutation_id: s.last_mutation_id,
            next_mutation_id: s.next_mutation_id,
            last_synced_at: s.last_synced_at,
        };
        store.put_with_key(&json(&meta)?, &JsValue::from_str("state"))?;
        Ok(())
    }
}

impl Store for IdbStore {
    type Error = IdbError;

    async fn load(&self) -> Result<Option<ClientState>, IdbError> {
        let names = Array::new();
        for s in STORES {
            names.push(&JsValue::from_str(s));
        }
        let tx = self.db.transaction_with_str_sequence(&names)?;
        let meta_req = tx.object_store("meta")?.get(&JsValue::from_str("state"))?;
        let outbox_req = tx.object_store("outbox")?.get_all()?;
        let rejected_req = tx.object_store("rejected")?.get_all()?;
        let rows_req = tx.object_store("rows")?.get_all()?;
        let meta = request(meta_req).await?;
        if meta.is_undefined() {
            return Ok(None);
        }
        let meta: Meta = parse(&meta)?;
        let mut pending: Vec<MutationEnvelope> =
            Array::from(&request(outbox_req).await?).iter().map(|v| parse(&v)).collect::<Result<_, _>>()?;
        pending.sort_by_key(|m| m.id);
        let mut rejected: Vec<Rejected> =
            Array::from(&request(rejected_req).await?).iter().map(|v| parse(&v)).collect::<Result<_, _>>()?;
        rejected.sort_by_key(|r| r.mutation.id);
        let mut rows = BTreeMap::new();
        for v in Array::from(&request(rows_req).await?).iter() {
            let r: StoredRow = parse(&v)?;
            rows.insert((r.entity, r.id), ServerRow { version: r.version, data: r.data });
        }
        Ok(Some(ClientState {
            client_id: meta.client_id,
            cookie: meta.cookie,
            last_mutation_id: meta.last_mutation_id,
            next_mutation_id: meta.next_mutation_id,
            pending,
            rejected,
            rows,
            last_synced_at: meta.last_synced_at,
        }))
    }

    async fn append(&self, mutation: &MutationEnvelope) -> Result<u64, IdbError> {
        let (tx, s) = self.tx(&["meta", "outbox"])?;
        // Read-then-write inside one readwrite transaction: IndexedDB runs overlapping ones one
        // after another, so two tabs appending at once get two different ids.
        let meta: Meta = parse(&request(s[0].get(&JsValue::from_str("state"))?).await?)?;
        let id = mutation.id.max(meta.next_mutation_id);
        let meta = Meta { next_mutation_id: id + 1, ..meta };
        s[0].put_with_key(&json(&meta)?, &JsValue::from_str("state"))?;
        let stored = MutationEnvelope { id, ..mutation.clone() };
        s[1].put_with_key(&json(&stored)?, &JsValue::from_f64(id as f64))?;
        committed(&tx).await?;
        Ok(id)
    }

    async fn record_push(&self, last_mutation_id: u64, rejected: &[Rejected]) -> Result<(), IdbError> {
        let (tx, s) = self.tx(&["meta", "outbox", "rejected"])?;
        let meta: Meta = parse(&request(s[0].get(&JsValue::from_str("state"))?).await?)?;
        let meta = Meta { last_mutation_id: meta.last_mutation_id.max(last_mutation_id), ..meta };
        s[0].put_with_key(&json(&meta)?, &JsValue::from_str("state"))?;
        for r in rejected {
            let key = JsValue::from_f64(r.mutation.id as f64);
            s[2].put_with_key(&json(r)?, &key)?;
            s[1].delete(&key)?;
        }
        committed(&tx).await
    }

    async fn apply_pull(&self, response: &PullResponse, at: DateTime<Utc>) -> Result<(), IdbError> {
        let (tx, s) = self.tx(&["meta", "outbox", "rejected", "rows"])?;
        let meta: Meta = parse(&request(s[0].get(&JsValue::from_str("state"))?).await?)?;
        // Rejections this device never heard of (their push response was lost) move from the
        // outbox to `rejected`, with the payload the person typed.
        let confirmed = response.last_mutation_id;
        for r in response.rejected.iter().filter(|r| r.id <= confirmed) {
            let key = JsValue::from_f64(r.id as f64);
            let stored = request(s[1].get(&key)?).await?;
            if !stored.is_undefined() {
                let mutation: MutationEnvelope = parse(&stored)?;
                let rejected = Rejected { mutation, reason: r.error.clone().unwrap_or_default() };
                s[2].put_with_key(&json(&rejected)?, &key)?;
            }
        }
        if response.reset {
            s[3].clear()?;
        }
        for ops in response.patch.chunks(ROWS_PER_TASK) {
            let mut last = None;
            for op in ops {
                last = Some(match op {
                    PatchOp::Put { entity, id, version, data } => {
                        let row = StoredRowRef { entity: *entity, id: *id, version: *version, data };
                        s[3].put_with_key(&json(&row)?, &row_key(*entity, *id))?
                    }
                    PatchOp::Del { entity, id, .. } => s[3].delete(&row_key(*entity, *id))?,
                });
            }
            // Wait for the chunk's last write: the transaction stays open, and the page gets
            // the main thread between chunks (a tap is not held up by a page of rows).
            if let Some(last) = last {
                request(last).await?;
            }
        }
        if confirmed > 0 {
            s[1].delete(&IdbKeyRange::upper_bound(&JsValue::from_f64(confirmed as f64))?.into())?;
        }
        let meta = Meta {
            cookie: Some(response.cookie),
            last_mutation_id: meta.last_mutation_id.max(confirmed),
            last_synced_at: if response.has_more { meta.last_synced_at } else { Some(at) },
            ..meta
        };
        s[0].put_with_key(&json(&meta)?, &JsValue::from_str("state"))?;
        committed(&tx).await
    }

    async fn init(&self, state: &ClientState) -> Result<(), IdbError> {
        let (tx, s) = self.tx(&STORES)?;
        for store in &s {
            store.clear()?;
        }
        Self::put_meta(&s[0], state)?;
        for m in &state.pending {
            s[1].put_with_key(&json(m)?, &JsValue::from_f64(m.id as f64))?;
        }
        for r in &state.rejected {
            s[2].put_with_key(&json(r)?, &JsValue::from_f64(r.mutation.id as f64))?;
        }
        for ((entity, id), row) in &state.rows {
            let stored = StoredRow { entity: *entity, id: *id, version: row.version, data: row.data.clone() };
            s[3].put_with_key(&json(&stored)?, &row_key(*entity, *id))?;
        }
        committed(&tx).await
    }
}
