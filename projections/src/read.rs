//! Queries against the core projections. Each is one indexed read.

use authlog_eventstore::{from_millis, with_reader, Db};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A row of `users`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub image: Option<String>,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A row of `sessions`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub ip_address: String,
    pub user_agent: String,
    pub dont_remember: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A row of `accounts`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub id: String,
    pub user_id: String,
    pub provider_id: String,
    pub account_id: String,
    pub password_hash: Option<String>,
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const USER_COLUMNS: &str =
    "u.id AS u_id, u.email, u.name, u.image, u.email_verified, u.created_at AS u_created_at, \
     u.updated_at AS u_updated_at, u.version AS u_version";
const SESSION_COLUMNS: &str =
    "s.id AS s_id, s.token_hash, s.user_id, s.expires_at, s.ip_address, s.user_agent, \
     s.dont_remember, s.created_at AS s_created_at, s.updated_at AS s_updated_at, s.version AS s_version";
const ACCOUNT_COLUMNS: &str =
    "id, user_id, provider_id, account_id, password_hash, scope, created_at, updated_at, version";

/// Decodes the `u_*` columns of a row. A macro rather than a function: the body is compiled
/// once per backend row type.
macro_rules! user_row {
    ($row:expr) => {
        UserRow {
            id: $row.try_get("u_id")?,
            email: $row.try_get("email")?,
            name: $row.try_get("name")?,
            image: $row.try_get("image")?,
            email_verified: $row.try_get("email_verified")?,
            created_at: from_millis($row.try_get("u_created_at")?),
            updated_at: from_millis($row.try_get("u_updated_at")?),
            version: $row.try_get("u_version")?,
        }
    };
}

macro_rules! session_row {
    ($row:expr) => {
        SessionRow {
            id: $row.try_get("s_id")?,
            token_hash: $row.try_get("token_hash")?,
            user_id: $row.try_get("user_id")?,
            expires_at: from_millis($row.try_get("expires_at")?),
            ip_address: $row.try_get("ip_address")?,
            user_agent: $row.try_get("user_agent")?,
            dont_remember: $row.try_get("dont_remember")?,
            created_at: from_millis($row.try_get("s_created_at")?),
            updated_at: from_millis($row.try_get("s_updated_at")?),
            version: $row.try_get("s_version")?,
        }
    };
}

macro_rules! account_row {
    ($row:expr) => {
        AccountRow {
            id: $row.try_get("id")?,
            user_id: $row.try_get("user_id")?,
            provider_id: $row.try_get("provider_id")?,
            account_id: $row.try_get("account_id")?,
            password_hash: $row.try_get("password_hash")?,
            scope: $row.try_get("scope")?,
            created_at: from_millis($row.try_get("created_at")?),
            updated_at: from_millis($row.try_get("updated_at")?),
            version: $row.try_get("version")?,
        }
    };
}

pub async fn user_by_id(db: &Db, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    Ok(with_reader!(db, |pool| {
        match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
            Some(row) => Some(user_row!(row)),
            None => None,
        }
    }))
}

/// `email` must already be normalised (lower-case), as `Email::parse` gives it.
pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1");
    Ok(with_reader!(db, |pool| {
        match sqlx::query(&sql).bind(email).fetch_optional(pool).await? {
            Some(row) => Some(user_row!(row)),
            None => None,
        }
    }))
}

/// The session with this token hash and its user, in one read: what get-session needs.
pub async fn session_with_user(
    db: &Db,
    token_hash: &str,
) -> Result<Option<(SessionRow, UserRow)>, sqlx::Error> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1"
    );
    Ok(with_reader!(db, |pool| {
        match sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        {
            Some(row) => Some((session_row!(row), user_row!(row))),
            None => None,
        }
    }))
}

/// A user's sessions that have not expired at `now`, oldest first.
pub async fn sessions_of_user(
    db: &Db,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.expires_at > $2
         ORDER BY s.created_at, s.id"
    );
    Ok(with_reader!(db, |pool| {
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(now.timestamp_millis())
            .fetch_all(pool)
            .await?;
        let mut sessions = Vec::with_capacity(rows.len());
        for row in rows {
            sessions.push(session_row!(row));
        }
        sessions
    }))
}

/// Every session of a user, expired or not (what a revocation must reach).
pub async fn all_sessions_of_user(db: &Db, user_id: &str) -> Result<Vec<SessionRow>, sqlx::Error> {
    sessions_of_user(db, user_id, DateTime::<Utc>::MIN_UTC).await
}

pub async fn accounts_of_user(db: &Db, user_id: &str) -> Result<Vec<AccountRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1 ORDER BY created_at, id"
    );
    Ok(with_reader!(db, |pool| {
        let rows = sqlx::query(&sql).bind(user_id).fetch_all(pool).await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for row in rows {
            accounts.push(account_row!(row));
        }
        accounts
    }))
}

/// The user's email + password account, if they have one.
pub async fn credential_account(db: &Db, user_id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1 AND provider_id = 'credential'"
    );
    Ok(with_reader!(db, |pool| {
        match sqlx::query(&sql).bind(user_id).fetch_optional(pool).await? {
            Some(row) => Some(account_row!(row)),
            None => None,
        }
    }))
}

/// A user found by email with their credential account, in one read: what sign-in needs.
pub async fn user_with_credential(
    db: &Db,
    email: &str,
) -> Result<Option<(UserRow, Option<AccountRow>)>, sqlx::Error> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, a.id AS a_id, a.account_id AS a_account_id, a.password_hash,
                a.scope, a.created_at AS a_created_at, a.updated_at AS a_updated_at,
                a.version AS a_version
         FROM users u LEFT JOIN accounts a ON a.user_id = u.id AND a.provider_id = 'credential'
         WHERE u.email = $1"
    );
    Ok(with_reader!(db, |pool| {
        match sqlx::query(&sql).bind(email).fetch_optional(pool).await? {
            Some(row) => {
                let user = user_row!(row);
                let account_id: Option<String> = row.try_get("a_id")?;
                let account = match account_id {
                    Some(id) => Some(AccountRow {
                        id,
                        user_id: user.id.clone(),
                        provider_id: "credential".to_owned(),
                        account_id: row.try_get("a_account_id")?,
                        password_hash: row.try_get("password_hash")?,
                        scope: row.try_get("scope")?,
                        created_at: from_millis(row.try_get("a_created_at")?),
                        updated_at: from_millis(row.try_get("a_updated_at")?),
                        version: row.try_get("a_version")?,
                    }),
                    None => None,
                };
                Some((user, account))
            }
            None => None,
        }
    }))
}

/// A row of `verifications`: an outstanding token.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationRow {
    pub id: String,
    pub purpose: String,
    pub user_id: String,
    pub email: String,
    pub new_email: Option<String>,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub callback_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

/// The outstanding verification with this token hash.
pub async fn verification_by_token_hash(
    db: &Db,
    token_hash: &str,
) -> Result<Option<VerificationRow>, sqlx::Error> {
    Ok(with_reader!(db, |pool| {
        let row = sqlx::query(
            "SELECT id, purpose, user_id, email, new_email, token_hash, expires_at, callback_url,
                    created_at, version
             FROM verifications WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
        match row {
            Some(row) => Some(VerificationRow {
                id: row.try_get("id")?,
                purpose: row.try_get("purpose")?,
                user_id: row.try_get("user_id")?,
                email: row.try_get("email")?,
                new_email: row.try_get("new_email")?,
                token_hash: row.try_get("token_hash")?,
                expires_at: from_millis(row.try_get("expires_at")?),
                callback_url: row.try_get("callback_url")?,
                created_at: from_millis(row.try_get("created_at")?),
                version: row.try_get("version")?,
            }),
            None => None,
        }
    }))
}
