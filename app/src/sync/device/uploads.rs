//! Photos and signatures stored on the device go up before the writes that refer to them.

use super::{
    runtime::Runtime,
    transport::{self, Failure},
};

/// Uploads stored photos and signatures the server does not have yet, stopping at the first
/// that fails.
pub(super) async fn upload_blobs(rt: &Runtime) -> Result<(), Failure> {
    let unsent = rt.store.unsent_blobs().await.map_err(|e| {
        Failure::Refused(crate::api::ErrorDetail {
            code: "storage".into(),
            message: e.to_string(),
            field: None,
        })
    })?;
    for (sha, content_type, blob) in unsent {
        transport::put_blob(&format!("/api/blobs/{sha}"), &content_type, blob).await?;
        let _ = rt.store.mark_uploaded(&sha).await;
    }
    Ok(())
}
