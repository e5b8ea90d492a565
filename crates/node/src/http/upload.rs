//! `POST /api/upload`: multipart field `file` (+ optional `userId`).

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};

use super::AppState;
use crate::error::ApiError;
use crate::uploads::UploadAccepted;

const MAX_USER_ID: usize = 256;

/// `POST /api/upload`.
#[utoipa::path(post, path = "/api/upload", tag = "jobs",
    summary = "Upload an image; 202 once it is stored encrypted and queued",
    request_body(content = crate::http::openapi::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Stored durably and queued", body = crate::uploads::UploadAccepted),
        (status = 400, description = "No `file` field, malformed multipart, or an unreadable or oversized image", body = crate::http::openapi::ErrorBody),
        (status = 413, description = "Larger than `VERITY_MAX_UPLOAD_BYTES`", body = crate::http::openapi::ErrorBody),
        (status = 415, description = "Not JPEG, PNG or WebP", body = crate::http::openapi::ErrorBody),
        (status = 408, description = "The body was not received in time (`VERITY_BODY_TIMEOUT`, `VERITY_BODY_IDLE_TIMEOUT`)", body = crate::http::openapi::ErrorBody),
        (status = 429, description = "Too many uploads from this address (`VERITY_RATE_UPLOAD`); see `Retry-After`", body = crate::http::openapi::ErrorBody),
        (status = 503, description = "Storage or queue unavailable; retry", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn upload(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<UploadAccepted>), ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(
            "bad_multipart",
            format!("expected multipart/form-data with a `file` field: {e}"),
        )
    })?;
    let max = state.settings.limits.max_bytes;
    let (mut file, mut user_id) = (None, None);
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") if file.is_none() => {
                let mut buf = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if buf.len() + chunk.len() > max {
                        // Read and discard the rest (the body limit bounds it) so the
                        // client gets this answer rather than a reset mid-upload.
                        while let Ok(Some(_)) = field.chunk().await {}
                        drop(field);
                        while let Ok(Some(mut rest)) = multipart.next_field().await {
                            while let Ok(Some(_)) = rest.chunk().await {}
                        }
                        return Err(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "file_too_large",
                            format!("the file exceeds the {max}-byte limit"),
                        ));
                    }
                    buf.extend_from_slice(&chunk);
                }
                file = Some(buf.freeze());
            }
            Some("userId") => {
                let text = field.text().await.map_err(multipart_error)?;
                if text.len() > MAX_USER_ID {
                    return Err(ApiError::bad_request(
                        "bad_user_id",
                        format!("userId is longer than {MAX_USER_ID} bytes"),
                    ));
                }
                user_id = Some(text).filter(|t| !t.is_empty());
            }
            _ => {
                // Unknown fields are drained and ignored, within the body limit.
                while field.chunk().await.map_err(multipart_error)?.is_some() {}
            }
        }
    }
    let file: Bytes = file.ok_or_else(|| {
        ApiError::bad_request("missing_file", "the multipart body has no `file` field")
    })?;
    let accepted = state.uploads.accept(file, user_id).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

fn multipart_error(e: MultipartError) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "file_too_large",
            "the request body exceeds the upload limit",
        )
    } else {
        ApiError::bad_request(
            "bad_multipart",
            format!("malformed multipart body: {}", e.body_text()),
        )
    }
}
