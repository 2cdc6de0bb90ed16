//! Photos and signatures on the device: a camera photo is downscaled to at most 1600 px and
//! re-encoded as JPEG before it is stored (a 12-megapixel original is 4 MB to send over one bar;
//! the data plate stays readable at 1600 px), hashed with SHA-256 (its address on the server),
//! kept in IndexedDB and queued with an `attachment.add`.
//!
//! The server build renders only [`Thumb`]'s empty frame; the rest runs in the browser.
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

/// The longest side a stored photo may have.
pub const MAX_PHOTO_PX: u32 = 1600;
const JPEG_QUALITY: f64 = 0.82;

/// A stored image: what `attachment.add` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage {
    pub sha256: String,
    pub content_type: String,
    pub byte_size: u64,
}

/// The size to draw a `width × height` image at so its longest side is at most `max`.
pub fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max || longest == 0 {
        return (width, height);
    }
    let scale =
        |side: u32| ((u64::from(side) * u64::from(max) + u64::from(longest) / 2) / u64::from(longest)) as u32;
    (scale(width).max(1), scale(height).max(1))
}

#[cfg(feature = "hydrate")]
pub use browser::*;

use leptos::prelude::*;

/// A stored photo or signature: from this device when it holds it (offline too), else from the
/// server.
#[component]
pub fn Thumb(sha: String, #[prop(default = "Photo")] alt: &'static str) -> impl IntoView {
    let src = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    {
        let sha = sha.clone();
        leptos::task::spawn_local(async move { crate::ui::set_if_alive(src, Some(image_url(&sha).await)) });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = &sha;
    view! { <img class="thumb" alt=alt src=move || src.get() data-sha=sha.clone() /> }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use js_sys::{Promise, Uint8Array};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Blob, CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap};

    fn js_error(v: JsValue) -> String {
        v.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| v.as_string())
            .unwrap_or_else(|| "the browser refused".into())
    }

    /// Encodes what is on `canvas` as `content_type`.
    pub async fn canvas_blob(canvas: &HtmlCanvasElement, content_type: &str) -> Result<Blob, String> {
        let canvas = canvas.clone();
        let content_type = content_type.to_string();
        let promise = Promise::new(&mut |resolve, reject| {
            let done = Closure::once_into_js(move |blob: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &blob);
            });
            if let Err(e) = canvas.to_blob_with_type_and_encoder_options(
                done.unchecked_ref(),
                &content_type,
                &JsValue::from_f64(JPEG_QUALITY),
            ) {
                let _ = reject.call1(&JsValue::NULL, &e);
            }
        });
        let blob = JsFuture::from(promise).await.map_err(js_error)?;
        blob.dyn_into::<Blob>().map_err(|_| "the image could not be encoded".to_string())
    }

    /// Downscales a camera photo to a JPEG of at most [`MAX_PHOTO_PX`] on its longest side.
    pub async fn downscale(file: &Blob) -> Result<Blob, String> {
        let window = web_sys::window().ok_or("no window")?;
        let bitmap: ImageBitmap =
            JsFuture::from(window.create_image_bitmap_with_blob(file).map_err(js_error)?)
                .await
                .map_err(|_| "That file is not a picture this browser can read.".to_string())?
                .unchecked_into();
        let (w, h) = fit(bitmap.width(), bitmap.height(), MAX_PHOTO_PX);
        let canvas: HtmlCanvasElement = window
            .document()
            .ok_or("no document")?
            .create_element("canvas")
            .map_err(js_error)?
            .unchecked_into();
        canvas.set_width(w);
        canvas.set_height(h);
        let ctx: CanvasRenderingContext2d =
            canvas.get_context("2d").map_err(js_error)?.ok_or("no 2d canvas")?.unchecked_into();
        ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, f64::from(w), f64::from(h))
            .map_err(js_error)?;
        bitmap.close();
        canvas_blob(&canvas, "image/jpeg").await
    }

    /// The lower-case hex SHA-256 of `blob`'s bytes (WebCrypto; needs a secure context).
    pub async fn sha256_hex(blob: &Blob) -> Result<String, String> {
        let window = web_sys::window().ok_or("no window")?;
        let bytes = JsFuture::from(blob.array_buffer()).await.map_err(js_error)?;
        let subtle = window.crypto().map_err(js_error)?.subtle();
        let digest = JsFuture::from(
            subtle.digest_with_str_and_buffer_source("SHA-256", &bytes.unchecked_into()).map_err(js_error)?,
        )
        .await
        .map_err(js_error)?;
        Ok(Uint8Array::new(&digest).to_vec().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Stores `blob` on the device under its hash; the sync loop uploads it.
    pub async fn store(blob: &Blob) -> Result<StoredImage, String> {
        let sha256 = sha256_hex(blob).await?;
        crate::sync::device::put_blob(&sha256, blob).await?;
        Ok(StoredImage { sha256, content_type: blob.type_(), byte_size: blob.size() as u64 })
    }

    /// An object URL for a stored blob, or the server's copy when this device does not hold it.
    pub async fn image_url(sha256: &str) -> String {
        match crate::sync::device::get_blob(sha256).await {
            Some(blob) => web_sys::Url::create_object_url_with_blob(&blob).unwrap_or_default(),
            None => format!("/api/blobs/{sha256}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn photos_fit_in_1600_px_keeping_their_shape() {
        assert_eq!(fit(4032, 3024, 1600), (1600, 1200));
        assert_eq!(fit(3024, 4032, 1600), (1200, 1600));
        assert_eq!(fit(1200, 800, 1600), (1200, 800), "small photos are not enlarged");
        assert_eq!(fit(10_000, 3, 1600), (1600, 1), "never a zero-pixel side");
    }
}
