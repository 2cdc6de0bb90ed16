//! Who is signed in, as the UI sees it.
//!
//! On the server the auth middleware puts [`Me`] into the request's extensions; in the browser
//! it is read once from the `<meta name="fc-user">` tag the server wrote. Both sides therefore
//! render the same tree, and an offline cold start (HTML from the service worker) still knows
//! the person.

use crate::api::Me;
use leptos::prelude::*;

#[derive(Clone, Debug)]
struct CurrentUser(Option<Me>);

/// Reads the signed-in person from where this side of the wire keeps it.
pub(crate) fn me_from_request() -> Option<Me> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<Me>().cloned())
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let content = web_sys::window()?
            .document()?
            .query_selector("meta[name=fc-user]")
            .ok()??
            .get_attribute("content")?;
        serde_json::from_str(&content).ok()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

pub(crate) fn provide_current_user() {
    provide_context(CurrentUser(me_from_request()));
}

/// The signed-in person, if any.
pub fn current_user() -> Option<Me> {
    use_context::<CurrentUser>().and_then(|c| c.0)
}
