//! The web UI, embedded in the binary.

use axum::response::Html;

const INDEX: &str = include_str!("../../assets/index.html");

pub(super) async fn index() -> Html<&'static str> {
    Html(INDEX)
}
