//! Who is calling: passwords, sessions, the sign-in rate limit and the role guard.

pub mod client_ip;
pub mod link_token;
pub mod password;
pub mod rate_limit;
pub mod routes;
pub mod session;
pub mod session_cache;

use crate::error::ApiError;
use app::{api::Me, domain::Role};
use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use uuid::Uuid;

/// The signed-in person of a request, put into the request's extensions by
/// [`session::middleware`]. Handlers take it as an argument; without a session they answer 401.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Me);

impl CurrentUser {
    pub fn company_id(&self) -> Uuid {
        self.0.company_id
    }

    pub fn user_id(&self) -> Uuid {
        self.0.user_id
    }

    pub fn role(&self) -> Role {
        self.0.role
    }

    /// The role guard: `user.require(Role::Manager, "Only managers can add people.")?`.
    pub fn require(&self, role: Role, why: &'static str) -> Result<(), ApiError> {
        if self.0.role == role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(why))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Me>().cloned().map(CurrentUser).ok_or(ApiError::Unauthorized)
    }
}

/// For pages that redirect instead of answering 401: `Option<CurrentUser>`.
impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Me>().cloned().map(CurrentUser))
    }
}
