//! Sending one stored mail over SMTP with lettre.
//!
//! `SMTP_URL` takes lettre's URL forms: `smtp://localhost:2525` (plain, for a local relay),
//! `smtp://user:password@mail.example.com:587?tls=required` (STARTTLS with auth),
//! `smtps://user:password@mail.example.com` (TLS from the start). Servers are verified
//! against the Mozilla roots; `TRIAGE_SMTP_CA_FILE` (PEM) adds a root to trust, for a
//! relay with a private certificate authority.

use std::path::Path;
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::db::entity::mail;
use crate::{Error, Result};

/// Why a send failed: permanent failures (the server refused this message or recipient)
/// are not retried; transient ones (connection refused, 4xx) are, with backoff.
#[derive(Debug)]
pub enum SendError {
    Permanent(String),
    Transient(String),
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str, extra_ca: Option<&Path>) -> Result<Self> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| Error::Config(format!("SMTP_URL is not usable: {e}")))?
            .timeout(Some(Duration::from_secs(30)));
        if let Some(ca) = extra_ca {
            builder = builder.tls(tls_trusting(smtp_url, ca)?);
        }
        let transport = builder.build();
        let from = from
            .parse()
            .map_err(|e| Error::Config(format!("TRIAGE_MAIL_FROM {from:?}: {e}")))?;
        Ok(Self { transport, from })
    }

    pub async fn send(&self, m: &mail::Model) -> std::result::Result<(), SendError> {
        let to: Mailbox = m
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad recipient {:?}: {e}", m.recipient)))?;
        let mut builder = Message::builder()
            .message_id(None)
            .date_now()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone());
        if let Some(url) = &m.unsubscribe_url {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                m.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

/// The TLS mode `smtp_url` asks for, with `ca` added to the trusted roots.
fn tls_trusting(smtp_url: &str, ca: &Path) -> Result<Tls> {
    let bad = |m: String| Error::Config(format!("TRIAGE_SMTP_CA_FILE: {m}"));
    let pem = std::fs::read(ca).map_err(|e| Error::io(ca, e))?;
    let cert = Certificate::from_pem(&pem).map_err(|e| bad(format!("{}: {e}", ca.display())))?;
    let (scheme, rest) = smtp_url.split_once("://").unwrap_or(("smtp", smtp_url));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
    let params = TlsParameters::builder(host.to_string())
        .add_root_certificate(cert)
        .build_rustls()
        .map_err(|e| bad(e.to_string()))?;
    Ok(if scheme == "smtps" {
        Tls::Wrapper(params)
    } else if smtp_url.contains("tls=opportunistic") {
        Tls::Opportunistic(params)
    } else {
        Tls::Required(params)
    })
}

/// `List-Unsubscribe` (RFC 2369): mail clients show their own unsubscribe button.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post` (RFC 8058): the link unsubscribes with one POST, no page.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}
