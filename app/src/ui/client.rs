//! The browser's calls to the JSON API. Only the hydrated app makes them; on the server these
//! functions exist so the components type-check, and say so if ever called.

use crate::api::ErrorDetail;
use serde::{de::DeserializeOwned, Serialize};

fn network_error(message: impl Into<String>) -> ErrorDetail {
    ErrorDetail { code: "network".into(), message: message.into(), field: None }
}

#[cfg(feature = "hydrate")]
async fn decode<T: DeserializeOwned>(resp: gloo_net::http::Response) -> Result<T, ErrorDetail> {
    if resp.ok() {
        return resp
            .json::<T>()
            .await
            .map_err(|e| network_error(format!("Unreadable answer from the server: {e}")));
    }
    match resp.json::<crate::api::ErrorBody>().await {
        Ok(body) => Err(body.error),
        Err(_) => Err(network_error(format!("The server answered {}.", resp.status()))),
    }
}

pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ErrorDetail> {
    #[cfg(feature = "hydrate")]
    {
        let resp = gloo_net::http::Request::get(url)
            .send()
            .await
            .map_err(|_| network_error("No connection to the server. Try again when you have signal."))?;
        decode(resp).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Err(network_error(format!("{url} can only be fetched from the browser")))
    }
}

pub async fn post_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ErrorDetail> {
    #[cfg(feature = "hydrate")]
    {
        let req = gloo_net::http::Request::post(url)
            .json(body)
            .map_err(|e| network_error(format!("Could not encode the request: {e}")))?;
        let resp = req
            .send()
            .await
            .map_err(|_| network_error("No connection to the server. Try again when you have signal."))?;
        decode(resp).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = body;
        Err(network_error(format!("{url} can only be called from the browser")))
    }
}
