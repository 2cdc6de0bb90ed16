//! A device's push endpoint, parsed: the server will POST to it, so it is where a browser's push
//! service lives and nowhere else (not a private address inside our network, not a port of
//! Postgres). Only test and development setups allow a plain-http loopback endpoint.

use app::domain::ValidationError;

/// The push services of the browsers that support Web Push: Chrome and Edge (FCM), Firefox
/// (Mozilla autopush), Safari (Apple), legacy Edge (WNS). A host matches exactly or as a
/// sub-domain of an entry that starts with a dot.
const PUSH_SERVICES: &[&str] = &[
    "fcm.googleapis.com",
    "android.googleapis.com",
    ".push.services.mozilla.com",
    ".push.apple.com",
    ".notify.windows.com",
];

#[derive(Debug, Clone, PartialEq)]
pub struct PushEndpoint {
    uri: http::Uri,
}

impl PushEndpoint {
    pub fn parse(raw: &str, allow_loopback: bool) -> Result<Self, ValidationError> {
        let wrong = |why: &str| ValidationError::new("endpoint", why.to_string());
        if raw.is_empty() || raw.len() > 2048 {
            return Err(wrong("a push endpoint is 1 to 2,048 characters"));
        }
        let uri: http::Uri = raw.parse().map_err(|_| wrong("not an address"))?;
        let authority = uri.authority().ok_or_else(|| wrong("not an absolute address"))?;
        if authority.as_str().contains('@') {
            return Err(wrong("an address with a user name is not a push service"));
        }
        let host = authority.host().to_ascii_lowercase();
        let known = PUSH_SERVICES.iter().any(|s| match s.strip_prefix('.') {
            Some(domain) => host.ends_with(s) && host.len() > s.len() || host == domain,
            None => host == *s,
        });
        let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
        match uri.scheme_str() {
            Some("https") if known && authority.port_u16().is_none_or(|p| p == 443) => Ok(Self { uri }),
            Some("http") if allow_loopback && loopback => Ok(Self { uri }),
            _ => Err(wrong(
                "not the push service of a browser this app supports (Chrome, Edge, Firefox, Safari)",
            )),
        }
    }

    pub fn uri(&self) -> &http::Uri {
        &self.uri
    }

    /// Whom a VAPID token is for: the endpoint's scheme, host and port.
    pub fn audience(&self) -> String {
        let scheme = self.uri.scheme_str().unwrap_or("https");
        let authority = self.uri.authority().map(|a| a.as_str()).unwrap_or_default();
        format!("{scheme}://{authority}")
    }

    pub fn as_str(&self) -> String {
        self.uri.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::PushEndpoint;

    #[test]
    fn only_the_browsers_push_services_are_endpoints() {
        for ok in [
            "https://fcm.googleapis.com/fcm/send/abc:def",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
            "https://web.push.apple.com/QGuQyavXutnMH",
            "https://wns2-by3p.notify.windows.com/w/?token=BQYA",
        ] {
            let e = PushEndpoint::parse(ok, false).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(e.audience().starts_with("https://"), "{}", e.audience());
        }
        for bad in [
            "",
            "fcm.googleapis.com/fcm/send/abc",
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://fcm.googleapis.com:8443/x",
            "https://evil.example/fcm.googleapis.com",
            "https://fcm.googleapis.com.evil.example/x",
            "https://user@fcm.googleapis.com/x",
            "https://push.services.mozilla.com.evil/x",
            "https://xpush.services.mozilla.com/x",
            "http://127.0.0.1:5432/x",
            "https://10.0.0.1/x",
        ] {
            assert!(PushEndpoint::parse(bad, false).is_err(), "{bad} was taken");
        }
        assert!(PushEndpoint::parse("http://127.0.0.1:4000/push/1", true).is_ok());
        assert!(PushEndpoint::parse("http://10.0.0.1:4000/push/1", true).is_err());
    }
}
