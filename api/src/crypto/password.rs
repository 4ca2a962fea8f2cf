//! Argon2id on a fixed pool of threads with a bounded queue.
//!
//! Each worker owns one Argon2 memory block for its whole life, so hashing allocates
//! nothing per request and resident memory stays at `workers * memory_kib` however hard the
//! server is pushed. When the queue is full the caller gets `HashingSaturated` (HTTP 429)
//! instead of an ever-growing backlog.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use authlog_domain::services::{HashingSaturated, PasswordHasher};
use authlog_domain::values::{Password, PasswordHash};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::config::PasswordHashing;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

enum Job {
    Hash {
        password: Password,
        reply: oneshot::Sender<PasswordHash>,
    },
    Verify {
        password: Password,
        hash: PasswordHash,
        reply: oneshot::Sender<bool>,
    },
}

/// The pool. Cloning shares it.
#[derive(Clone)]
pub struct Argon2Pool {
    jobs: SyncSender<Job>,
    /// Verified against when a sign-in names an unknown email, so the answer takes as long
    /// as for a known one.
    dummy: PasswordHash,
}

impl std::fmt::Debug for Argon2Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Argon2Pool")
    }
}

impl Argon2Pool {
    /// Starts `settings.workers` threads. Fails on parameters Argon2 refuses.
    pub fn start(settings: PasswordHashing) -> Result<Self, argon2::Error> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            Some(HASH_LEN),
        )?;
        let (jobs, queue) = sync_channel(settings.queue.max(1));
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..settings.workers.max(1) {
            let queue = queue.clone();
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&queue, &params))
                .expect("spawn a hashing thread");
        }
        Ok(Self {
            jobs,
            dummy: dummy_hash(&params),
        })
    }

    /// Verifies `password` against the dummy hash and returns false: the constant-time
    /// answer for "no such user".
    pub async fn verify_dummy(&self, password: &Password) -> Result<bool, HashingSaturated> {
        self.verify(password, &self.dummy.clone())
            .await
            .map(|_| false)
    }

    fn submit(&self, job: Job) -> Result<(), HashingSaturated> {
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(HashingSaturated),
            Err(TrySendError::Disconnected(_)) => panic!("hashing workers are gone"),
        }
    }
}

#[async_trait::async_trait]
impl PasswordHasher for Argon2Pool {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingSaturated> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash {
            password: password.clone(),
            reply,
        })?;
        Ok(answer.await.expect("a hashing worker always replies"))
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, HashingSaturated> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password: password.clone(),
            hash: hash.clone(),
            reply,
        })?;
        Ok(answer.await.expect("a hashing worker always replies"))
    }
}

fn work(queue: &Mutex<Receiver<Job>>, params: &Params) {
    let mut memory = vec![Block::default(); params.block_count()];
    loop {
        // Hold the lock only to take one job.
        let Ok(job) = queue.lock().expect("queue lock").recv() else {
            return;
        };
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(hash_with(params, &mut memory, password.expose()));
            }
            Job::Verify {
                password,
                hash,
                reply,
            } => {
                let _ = reply.send(verify_with(&mut memory, password.expose(), hash.as_str()));
            }
        }
    }
}

/// A well-formed hash with today's parameters over random bytes: verifying against it costs
/// exactly what a real verification costs, and nothing matches it. Made without hashing, so
/// start-up neither waits nor allocates a second Argon2 memory block.
fn dummy_hash(params: &Params) -> PasswordHash {
    let mut salt = [0u8; SALT_LEN];
    let mut output = [0u8; HASH_LEN];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut output);
    encode(params, &salt, &output)
}

fn encode(params: &Params, salt: &[u8], output: &[u8]) -> PasswordHash {
    PasswordHash::new(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(output)
    ))
}

fn hash_with(params: &Params, memory: &mut [Block], password: &str) -> PasswordHash {
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let mut output = [0u8; HASH_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, &mut *memory)
        .expect("valid parameters and buffers");
    encode(params, &salt, &output)
}

/// Verifies a PHC `$argon2id$...` string with the parameters it records, so hashes made
/// under older settings keep working. Anything unparsable verifies as false.
fn verify_with(memory: &mut Vec<Block>, password: &str, encoded: &str) -> bool {
    let Some(phc) = Phc::parse(encoded) else {
        return false;
    };
    let Ok(params) = Params::new(
        phc.memory_kib,
        phc.iterations,
        phc.parallelism,
        Some(phc.hash.len()),
    ) else {
        return false;
    };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut output = vec![0u8; phc.hash.len()];
    let hashed = Argon2::new(phc.algorithm, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            &phc.salt,
            &mut output,
            &mut memory[..params.block_count()],
        );
    hashed.is_ok() && bool::from(output.ct_eq(&phc.hash))
}

struct Phc {
    algorithm: Algorithm,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Phc {
    fn parse(encoded: &str) -> Option<Self> {
        let mut parts = encoded.split('$');
        if !parts.next()?.is_empty() {
            return None;
        }
        let algorithm = match parts.next()? {
            "argon2id" => Algorithm::Argon2id,
            "argon2i" => Algorithm::Argon2i,
            "argon2d" => Algorithm::Argon2d,
            _ => return None,
        };
        if parts.next()? != "v=19" {
            return None;
        }
        let (mut memory_kib, mut iterations, mut parallelism) = (None, None, None);
        for pair in parts.next()?.split(',') {
            let (key, value) = pair.split_once('=')?;
            let value = value.parse().ok()?;
            match key {
                "m" => memory_kib = Some(value),
                "t" => iterations = Some(value),
                "p" => parallelism = Some(value),
                _ => return None,
            }
        }
        let salt = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
        let hash = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
        if parts.next().is_some() || hash.len() < 16 {
            return None;
        }
        Some(Self {
            algorithm,
            memory_kib: memory_kib?,
            iterations: iterations?,
            parallelism: parallelism?,
            salt,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authlog_domain::values::PasswordPolicy;

    fn cheap() -> PasswordHashing {
        PasswordHashing {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            workers: 1,
            queue: 4,
        }
    }

    fn password(raw: &str) -> Password {
        Password::parse(raw, PasswordPolicy::default()).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_carry_their_parameters() {
        let pool = Argon2Pool::start(cheap()).unwrap();
        let hash = pool.hash(&password("correct horse")).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(pool
            .verify(&password("correct horse"), &hash)
            .await
            .unwrap());
        assert!(!pool
            .verify(&password("correct horsf"), &hash)
            .await
            .unwrap());
        assert!(!pool
            .verify(
                &password("correct horse"),
                &PasswordHash::new("garbage".into())
            )
            .await
            .unwrap());
        assert!(!pool
            .verify_dummy(&password("anything at all"))
            .await
            .unwrap());
    }

    /// The argon2 crate's own PHC output verifies with our parser (interoperability with
    /// hashes imported from other Argon2 users).
    #[tokio::test]
    async fn standard_phc_strings_verify() {
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let params = Params::new(64, 1, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"imported secret", &salt)
            .unwrap()
            .to_string();
        let pool = Argon2Pool::start(cheap()).unwrap();
        assert!(pool
            .verify(&password("imported secret"), &PasswordHash::new(phc))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_not_grown() {
        let pool = Argon2Pool::start(PasswordHashing {
            memory_kib: 8192,
            iterations: 4,
            workers: 1,
            queue: 1,
            ..cheap()
        })
        .unwrap();
        // One worker and one queue slot: of three jobs submitted at once, at most two fit.
        let mut replies = Vec::new();
        let mut refused = 0;
        for _ in 0..3 {
            let (reply, answer) = oneshot::channel();
            match pool.submit(Job::Hash {
                password: password("queue filler"),
                reply,
            }) {
                Ok(()) => replies.push(answer),
                Err(HashingSaturated) => refused += 1,
            }
        }
        assert!(refused >= 1, "three jobs fitted in one worker and one slot");
        for answer in replies {
            assert!(answer.await.unwrap().as_str().starts_with("$argon2id$"));
        }
    }
}
