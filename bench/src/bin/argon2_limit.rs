//! The Argon2id ceiling of this machine: how many password hashes per second all cores can
//! compute with the parameters authlog uses.
//!
//! Sign-in and sign-up each cost one Argon2id hash, so this figure bounds their throughput.
//! It hashes the way authlog's pool does: one OS thread per core, each reusing its own memory
//! block through `Argon2::hash_password_into_with_memory`, so no allocation is measured.
//! Prints one JSON line on stdout.

use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use clap::Parser;
use rand::rngs::OsRng;
use rand::RngCore;

/// Hash passwords with Argon2id on every core for a while and report hashes per second.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// How long to hash, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Memory cost in KiB (OWASP, and authlog's default: 19456).
    #[arg(long, default_value_t = 19_456)]
    memory_kib: u32,
    /// Passes over the memory (authlog: 2).
    #[arg(long, default_value_t = 2)]
    iterations: u32,
    /// Lanes (authlog: 1).
    #[arg(long, default_value_t = 1)]
    parallelism: u32,
    /// Hashing threads (default: one per core, as authlog's pool).
    #[arg(long)]
    threads: Option<usize>,
}

/// authlog stores 32-byte hashes with 16-byte salts.
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let params = Params::new(
        args.memory_kib,
        args.iterations,
        args.parallelism,
        Some(HASH_LEN),
    )
    .context("invalid Argon2 parameters")?;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let run_for = Duration::from_secs_f64(args.seconds);

    let started = Instant::now();
    let deadline = started + run_for;
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let params = params.clone();
            std::thread::spawn(move || hash_until(&params, deadline))
        })
        .collect();
    let per_thread: Vec<u64> = workers
        .into_iter()
        .map(|worker| worker.join().expect("a hashing thread panicked"))
        .collect();
    // The last hash of each thread may end a little after the deadline: divide by the real
    // elapsed time, not the requested one.
    let elapsed = started.elapsed().as_secs_f64();

    let hashes: u64 = per_thread.iter().sum();
    let report = serde_json::json!({
        "threads": threads,
        "m_kib": args.memory_kib,
        "t": args.iterations,
        "p": args.parallelism,
        "seconds": round(elapsed, 3),
        "hashes": hashes,
        "hashes_per_sec": round(hashes as f64 / elapsed, 2),
        "per_thread_hashes_per_sec": per_thread
            .iter()
            .map(|&count| round(count as f64 / elapsed, 2))
            .collect::<Vec<_>>(),
    });
    #[allow(clippy::print_stdout)] // The report is this program's output.
    {
        println!("{report}");
    }
    Ok(())
}

/// Hashes random salts into one reused memory block until `deadline`; returns the count.
fn hash_until(params: &Params, deadline: Instant) -> u64 {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut memory = vec![Block::default(); params.block_count()];
    let mut salt = [0u8; SALT_LEN];
    let mut output = [0u8; HASH_LEN];
    let mut count = 0;
    while Instant::now() < deadline {
        OsRng.fill_bytes(&mut salt);
        argon2
            .hash_password_into_with_memory(b"Bench-passw0rd!", &salt, &mut output, &mut memory)
            .expect("valid parameters and buffers");
        count += 1;
    }
    count
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
