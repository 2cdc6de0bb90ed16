//! A search of older work on the server, kept on the device (`search_older`). In the device's
//! lazy chunk (`lazy`): Today's first screen needs none of it, and it brings the patch's
//! decoding and the store step that keeps the rows.

use super::{kept, runtime, transport};

pub(super) async fn search_now(words: String) -> Result<usize, transport::Failure> {
    let url = format!("/api/sync/search?q={}", crate::ui::percent_encode(&words));
    let found = transport::get_json::<crate::sync::protocol::SearchResponse>(&url).await?;
    if let Some(rt) = runtime::opened().await {
        kept::pin(&found.found);
        let mut engine = rt.engine.lock().await;
        if engine.adopt(found.patch).await.is_ok() {
            rt.publish(&engine, |_| {});
        }
    }
    Ok(found.found.len())
}
