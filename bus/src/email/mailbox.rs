//! The development transport: one JSON line per mail in a file (`mailbox.jsonl` beside the
//! SQLite file by default), `{"kind","to","subject","url","token","event_id","sent_at"}`.
//! Tests and developers read links from it. The link is also logged.
//!
//! A mail whose event id is already in the file is not written again, so a crash between
//! writing a mail and recording it as handled never yields the same mail twice.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

use super::message::Mail;
use super::Mailer;
use crate::consumer::ConsumerError;

/// A mailbox file.
pub struct Mailbox {
    path: PathBuf,
    sent: Mutex<HashSet<String>>,
}

impl Mailbox {
    /// Opens (creating if needed) the mailbox at `path`, reading which mails it holds.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut sent = HashSet::new();
        if let Ok(file) = std::fs::File::open(path) {
            for line in std::io::BufReader::new(file).lines() {
                let line = line?;
                // A line cut short by a crash has no complete JSON and holds no mail.
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                    if let Some(id) = value["event_id"].as_str() {
                        sent.insert(id.to_owned());
                    }
                }
            }
        }
        Ok(Self {
            path: path.to_owned(),
            sent: Mutex::new(sent),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl Mailer for Mailbox {
    async fn send(&self, mail: &Mail) -> Result<(), ConsumerError> {
        let mut sent = self.sent.lock().await;
        if sent.contains(&mail.event_id) {
            return Ok(());
        }
        let line = serde_json::json!({
            "kind": mail.kind,
            "to": mail.to,
            "subject": mail.subject,
            "url": mail.url,
            "token": mail.token,
            "event_id": mail.event_id,
            "sent_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        let path = self.path.clone();
        let text = format!("{line}\n");
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(text.as_bytes())?;
            file.sync_data()
        })
        .await
        .map_err(|e| ConsumerError(format!("mailbox writer: {e}")))?
        .map_err(|e| ConsumerError(format!("writing {}: {e}", self.path.display())))?;
        sent.insert(mail.event_id.clone());
        tracing::info!(kind = mail.kind, to = %mail.to, url = %mail.url, "mail written to the development mailbox");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(event_id: &str) -> Mail {
        Mail {
            event_id: event_id.into(),
            kind: "verify-email",
            to: "a@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            url: "http://x/verify-email?token=abc".into(),
            token: "abc".into(),
        }
    }

    #[tokio::test]
    async fn a_mail_is_written_once_even_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mailbox.jsonl");
        let mailbox = Mailbox::open(&path).unwrap();
        mailbox.send(&mail("e1")).await.unwrap();
        mailbox.send(&mail("e1")).await.unwrap();
        let reopened = Mailbox::open(&path).unwrap();
        reopened.send(&mail("e1")).await.unwrap();
        reopened.send(&mail("e2")).await.unwrap();
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["kind"], "verify-email");
        assert_eq!(lines[1]["event_id"], "e2");
    }
}
