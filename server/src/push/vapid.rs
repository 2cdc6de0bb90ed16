//! The server's VAPID identity (RFC 8292): one P-256 key pair per deployment, made on the first
//! start and kept in Postgres, so every server process signs with the same key and a restart
//! does not orphan the subscriptions browsers bound to it.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use rand::RngCore;

/// How long a signature is good for; push services refuse more than 24 hours.
const VALID_FOR: chrono::Duration = chrono::Duration::hours(12);

#[derive(Clone)]
pub struct VapidKey {
    signing: SigningKey,
    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url.
    public: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey").field("public", &self.public).finish_non_exhaustive()
    }
}

impl VapidKey {
    /// The deployment's key: the stored one, or a new one stored first (two processes starting
    /// at once agree on whichever insert won).
    pub async fn load_or_create(pool: &sqlx::PgPool) -> Result<Self, sqlx::Error> {
        let fresh = loop {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            // A scalar of zero or past the curve's order is refused; the odds are about 2^-32.
            if SigningKey::from_slice(&bytes).is_ok() {
                break bytes;
            }
        };
        sqlx::query!(
            "insert into push_vapid_key (private_key) values ($1) on conflict (id) do nothing",
            &fresh[..]
        )
        .execute(pool)
        .await?;
        let stored = sqlx::query_scalar!("select private_key from push_vapid_key").fetch_one(pool).await?;
        let signing = SigningKey::from_slice(&stored).map_err(|e| {
            sqlx::Error::Decode(format!("the stored VAPID key is not a P-256 key: {e}").into())
        })?;
        Ok(Self::from_signing(signing))
    }

    pub fn from_signing(signing: SigningKey) -> Self {
        let point = signing.verifying_key().to_encoded_point(false);
        VapidKey { public: URL_SAFE_NO_PAD.encode(point.as_bytes()), signing }
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `audience` (the endpoint's scheme, host and
    /// port): `vapid t=<ES256 JWT>, k=<public key>`.
    pub fn authorization(&self, audience: &str, contact: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": (now + VALID_FOR).timestamp(),
            "sub": contact,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signed.as_bytes());
        format!("vapid t={signed}.{}, k={}", URL_SAFE_NO_PAD.encode(signature.to_bytes()), self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Verifier, VerifyingKey};

    #[test]
    fn the_token_is_an_es256_jwt_the_public_key_verifies() {
        let key = VapidKey::from_signing(SigningKey::from_slice(&[7u8; 32]).unwrap());
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let header = key.authorization("https://fcm.googleapis.com", "mailto:ops@example.com", now);
        let (t, k) = header.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
        assert_eq!(k, key.public_key());
        let (signed, signature) = t.rsplit_once('.').unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(signed.split('.').nth(1).unwrap()).unwrap())
                .unwrap();
        assert_eq!(claims["aud"], "https://fcm.googleapis.com");
        assert_eq!(claims["exp"], 1_800_000_000 + 12 * 3600);
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let verifying = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        assert!(verifying.verify(signed.as_bytes(), &signature).is_ok());
        assert!(verifying.verify(b"something else", &signature).is_err());
    }
}
