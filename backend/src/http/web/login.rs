//! Signing in and out.
//!
//! The sign-in form is protected against login CSRF with a double-submit token: the page
//! sets a short-lived cookie and puts the same value in the form; a post whose two copies
//! differ did not come from our page. After sign-in the browser goes to `next`, which must
//! be a local path so the form cannot be used to bounce people to another site.

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;

use super::layout::bare;
use super::session::{cookie, same_secret, set_cookie, Form, PublicForm, COOKIE};
use super::{see_other, Html, WebResult};
use crate::db::{sessions, tokens};
use crate::http::ApiContext;

const LOGIN_CSRF: &str = "triage_login";

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/login", get(form).post(sign_in))
        .route("/logout", post(sign_out))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// Only same-site paths: `/backlog?x=1` yes, `//evil.example` or `https://…` no.
///
/// Browsers drop tabs and newlines from a URL and read a backslash as `/`, so `/\t/evil.example`
/// would become `//evil.example` — another site. A path with any control character,
/// whitespace or backslash is refused outright rather than cleaned.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.into()
        }
        _ => "/backlog".into(),
    }
}

fn render(ctx: &ApiContext, next: &str, error: Option<&str>, email: &str) -> Response {
    let token = tokens::random_hex();
    let page = bare(
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.card method="post" action="/login" {
                input type="hidden" name="login_csrf" value=(token);
                input type="hidden" name="next" value=(next);
                p {
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                }
                p {
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                button type="submit" { "Sign in" }
            }
            p.muted.small { "Accounts are created with " code { "triage user create" } "." }
        },
    );
    (
        [(SET_COOKIE, set_cookie(ctx, LOGIN_CSRF, &token, 3600))],
        Html(page),
    )
        .into_response()
}

async fn form(State(ctx): State<ApiContext>, Query(q): Query<Next>) -> Response {
    render(&ctx, &safe_next(q.next.as_deref()), None, "")
}

async fn sign_in(
    State(ctx): State<ApiContext>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    PublicForm(f): PublicForm,
) -> WebResult<Response> {
    let expected = cookie(&ctx, &headers, LOGIN_CSRF);
    let next = safe_next(f.text("next").as_deref());
    let email = f.text("email").unwrap_or_default();
    if !same_secret(f.text("login_csrf").as_deref(), expected.as_deref()) {
        return Ok(render(
            &ctx,
            &next,
            Some("The sign-in form expired; please try again."),
            &email,
        ));
    }
    let password = f.raw("password").unwrap_or_default();
    ctx.limits.sign_in(peer.ip(), &email)?;
    let found = ctx
        .passwords
        .authenticate(&ctx.db, &email, &password)
        .await?;
    let delay = ctx.limits.signed_in(&email, found.is_some());
    let Some(user) = found else {
        // Guessing slows down: each failure in a row for this account waits longer.
        tokio::time::sleep(delay).await;
        let mut r = render(&ctx, &next, Some("Wrong email or password."), &email);
        *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(r);
    };
    let (token, _) = sessions::start(&ctx.db, user.id).await?;
    let mut r = see_other(&next);
    let lifetime = sessions::LIFETIME.num_seconds();
    for c in [
        set_cookie(&ctx, COOKIE, &token, lifetime),
        set_cookie(&ctx, LOGIN_CSRF, "", 0),
    ] {
        r.headers_mut()
            .append(SET_COOKIE, c.parse().expect("cookie values are ASCII"));
    }
    Ok(r)
}

async fn sign_out(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    Form(_, _): Form,
) -> WebResult<Response> {
    if let Some(t) = cookie(&ctx, &headers, COOKIE) {
        sessions::end(&ctx.db, &t).await?;
    }
    let mut r = see_other("/login");
    r.headers_mut().insert(
        SET_COOKIE,
        set_cookie(&ctx, COOKIE, "", 0)
            .parse()
            .expect("cookie values are ASCII"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/themes/3?x=1")), "/themes/3?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/backlog");
        assert_eq!(safe_next(Some("https://evil.example")), "/backlog");
        assert_eq!(safe_next(Some("/\\evil.example")), "/backlog");
        // Browsers strip tabs and newlines, which would leave `//evil.example`.
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /x",
        ] {
            assert_eq!(safe_next(Some(sneaky)), "/backlog", "{sneaky:?}");
        }
        assert_eq!(safe_next(Some("/\u{0}/evil.example")), "/backlog");
        assert_eq!(safe_next(None), "/backlog");
    }
}
