//! Typed errors and their one mapping onto RFC 9457 `application/problem+json` answers.

use serde::Serialize;
use thiserror::Error;

/// A field-level validation failure, reported in the problem's `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication is required")]
    Unauthenticated,
    #[error("the email, password or second factor is not correct")]
    InvalidCredentials,
    #[error("a TOTP code is required for this account")]
    SecondFactorRequired,
    #[error("too many failed sign-in attempts; try again later")]
    LockedOut { retry_after_secs: u64 },
    #[error("this action requires a sign-in with a second factor")]
    SecondFactorMissing,
    #[error("you do not have permission for this action")]
    Forbidden,
    #[error("the resource does not exist")]
    NotFound,
    #[error("no route matches the method and path")]
    NoRoute,
    #[error("the method is not allowed on this path")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("the resource was changed by someone else; read it again and retry")]
    StaleVersion,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request must be sent as application/json")]
    UnsupportedMediaType,
    #[error("a dependency is unavailable")]
    Unavailable(String),
    /// Sealed data did not open where it was read: moved, tampered with, or a wrong key.
    #[error("stored data failed an integrity check")]
    IntegrityFailure,
    #[error("internal error")]
    Internal(String),
}

/// The problem document of RFC 9457.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest(_) => 400,
            ApiError::Validation(_) => 422,
            ApiError::Unauthenticated | ApiError::InvalidCredentials | ApiError::SecondFactorRequired => 401,
            ApiError::LockedOut { .. } => 429,
            ApiError::SecondFactorMissing | ApiError::Forbidden => 403,
            ApiError::NotFound | ApiError::NoRoute => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Conflict(_) | ApiError::StaleVersion => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) | ApiError::IntegrityFailure => 500,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::Validation(_) => "validation",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid-credentials",
            ApiError::SecondFactorRequired => "second-factor-required",
            ApiError::LockedOut { .. } => "locked-out",
            ApiError::SecondFactorMissing => "second-factor-missing",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound | ApiError::NoRoute => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::StaleVersion => "stale-version",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::IntegrityFailure => "integrity-failure",
        }
    }

    fn title(&self) -> &'static str {
        match self.status() {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            413 => "Payload Too Large",
            415 => "Unsupported Media Type",
            422 => "Unprocessable Content",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// The problem document. Internal details are logged by the pipeline, never sent.
    pub fn to_problem(&self, request_id: Option<String>) -> Problem {
        let detail = match self {
            ApiError::Internal(_) => "internal error".to_string(),
            ApiError::Unavailable(_) => "a dependency is unavailable; retry later".to_string(),
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            kind: format!("https://travel.example/problems/{}", self.slug()),
            title: self.title(),
            status: self.status(),
            detail,
            errors,
            request_id,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::ConditionFailed => ApiError::StaleVersion,
            StoreError::BadCursor => ApiError::validation("cursor", "the cursor is not valid for this list"),
            StoreError::Unavailable(m) | StoreError::Contended(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::secrets::SecretsError> for ApiError {
    fn from(e: crate::secrets::SecretsError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
