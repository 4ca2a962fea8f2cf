//! `GET /ok` and `GET /error`.

use axum::extract::State;
use serde_json::json;

use crate::http::reply::{Handled, Reply};
use crate::http::request::ApiRequest;
use crate::http::AppState;

pub(crate) async fn ok() -> Handled {
    Ok(Reply::json(json!({ "ok": true })))
}

/// The page OAuth flows send users to when they fail. The code is shown only if it looks
/// like one (`^['A-Za-z0-9_-]+$`), otherwise as `UNKNOWN`; everything shown is escaped.
pub(crate) async fn error_page(State(state): State<AppState>, request: ApiRequest) -> Handled {
    let code = request
        .query_param("error")
        .filter(|code| {
            !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "'_-".contains(c))
        })
        .unwrap_or_else(|| "UNKNOWN".to_owned());
    let description = request.query_param("error_description").unwrap_or_else(|| {
        "Something went wrong while signing you in. Please try again.".to_owned()
    });
    let home = escape(&state.auth.config().base_origin());
    Ok(Reply::html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Error</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\n\
         <body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem\">\n\
         <h1>Sign-in error</h1>\n<p>{}</p>\n<p>Error code: <code>{}</code></p>\n\
         <p><a href=\"{home}\">Go back</a></p>\n</body>\n</html>\n",
        escape(&description),
        escape(&code),
    )))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
