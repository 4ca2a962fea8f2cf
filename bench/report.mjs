// Builds the results markdown of bench/run.sh from what the shared benchmark left behind.
//   node bench/report.mjs MANIFEST ARGON2_JSON HEADER_FILE
// MANIFEST: one JSON object per line, one per server, in run order:
//   {"key","label","raw":DIR,"peak_kib"} where DIR holds bench.sh's raw.jsonl and rss.txt,
//   or {"key","label","skipped":REASON}; "failed":REASON marks a server whose run broke off;
//   "busy":"B/A" is the machine's CPU busy % before and after its benchmark; "argon2_around":
//   "B/A" the Argon2id limit (hashes/s) measured right before and after it; "scenarios" the
//   scenarios asked for (one missing from raw.jsonl is a problem). Two instances measured
//   together (authlog-postgres-nats-2x) add "peak_b_kib" and "published":"STREAM/LOG" (events
//   in the NATS stream / in the log), and each raw.jsonl record holds both wrk results in
//   "parts" and both RSS samples in "rss_parts".
// Env: ARGON2_BUSY (busy % before the Argon2 measurement), ARGON2_CPU (% of cores its threads got),
//      IDLE_BUSY (the busy % above which a measurement is flagged, default 10).
// ARGON2_JSON: the line printed by argon2_limit (or an empty file).
// Medians over the runs, as the shared summarize.mjs computes them.
import fs from "node:fs";
import path from "node:path";

const [manifestFile, argonFile, headerFile] = process.argv.slice(2);
const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : []);
const servers = lines(manifestFile).map((l) => JSON.parse(l));
const argon = lines(argonFile).length ? JSON.parse(lines(argonFile).at(-1)) : null;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mib = (kib) => (kib == null ? "n/a" : `${(kib / 1024).toFixed(0)}`);
// req/s of one wrk result; a record with "parts" (one wrk per instance, run together) sums them.
const rpsOf = (w) => w.requests / (w.duration_us / 1e6);
const recordRps = (r) => (r.parts ? r.parts.reduce((a, p) => a + rpsOf(p), 0) : rpsOf(r.wrk));
// "VmRSS/VmHWM" MiB samples: the largest of each over the runs.
const maxRss = (samples) => {
  const ok = samples.filter((x) => /^\d+\/\d+$/.test(x ?? ""));
  if (!ok.length) return "n/a";
  const at = (i) => Math.max(...ok.map((x) => Number(x.split("/")[i])));
  return `${at(0)}/${at(1)}`;
};

// results[key][scenario] = { rps, p50, p99, runs, split, non2xx, sockErrors, rss }
const results = {};
for (const s of servers) {
  results[s.key] = {};
  const rawFile = s.raw && path.join(s.raw, "raw.jsonl");
  const by = new Map();
  for (const r of lines(rawFile).map((l) => JSON.parse(l))) {
    if (!by.has(r.scenario)) by.set(r.scenario, []);
    by.get(r.scenario).push(r);
  }
  for (const [scenario, rs] of by) {
    const rps = rs.map(recordRps);
    // bench.sh samples "VmRSS/VmHWM" (MiB) right after each wrk run; two instances, one each.
    const rss = rs[0].rss_parts
      ? rs[0].rss_parts.map((_, i) => maxRss(rs.map((r) => r.rss_parts[i]))).join(" + ")
      : maxRss(rs.map((r) => r.rss));
    results[s.key][scenario] = {
      rps: median(rps),
      p50: median(rs.map((r) => r.wrk.p50_us / 1000)),
      p99: median(rs.map((r) => r.wrk.p99_us / 1000)),
      runs: rps,
      // per run, each instance's req/s ("A+B"), for records with parts
      split: rs.map((r) => (r.parts ? r.parts.map((p) => rpsOf(p).toFixed(0)).join("+") : null)),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      sockErrors: rs.reduce((a, r) => a + r.wrk.err_connect + r.wrk.err_read + r.wrk.err_write + r.wrk.err_timeout, 0),
      rss,
    };
  }
  const rssFile = s.raw && path.join(s.raw, "rss.txt");
  s.idle = lines(rssFile).find((l) => l.startsWith("rss_idle_mib="))?.split("=")[1] ?? "n/a";
}

const out = [];
if (headerFile && fs.existsSync(headerFile)) out.push(fs.readFileSync(headerFile, "utf8").trimEnd(), "");

out.push("| server | scenario | req/s (median) | p50 ms | p99 ms | runs (req/s) | non-2xx | socket errors | RSS MiB after load (VmRSS/VmHWM) |");
out.push("|---|---|---:|---:|---:|---|---:|---:|---:|");
for (const s of servers) {
  const scenarios = Object.entries(results[s.key]);
  if (s.skipped) out.push(`| ${s.label} | (skipped: ${s.skipped}) | | | | | | | |`);
  for (const [scenario, r] of scenarios) {
    out.push(
      `| ${s.label} | ${scenario} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ` +
        `${r.runs.map((x, i) => x.toFixed(0) + (r.split[i] ? ` (${r.split[i]})` : "")).join(" / ")} | ` +
        `${r.non2xx} | ${r.sockErrors} | ${r.rss} |`,
    );
  }
  if (s.failed) out.push(`| ${s.label} | (failed: ${s.failed}) | | | | | | | |`);
}
// The share of the cores the Argon2id threads got; below 100 % other work ran meanwhile, and
// hashes/s divided by that share estimates the limit of an idle machine.
const argonCpu = Number(process.env.ARGON2_CPU);
const argonShare = argonCpu > 0 ? Math.min(argonCpu, 100) / 100 : null;
if (argon) {
  out.push(
    `| Argon2id limit (m=${argon.m_kib},t=${argon.t},p=${argon.p}, ${argon.threads} threads, ${argon.seconds} s) | hashes | ` +
      `${argon.hashes_per_sec.toFixed(1)} | | | per thread: ${argon.per_thread_hashes_per_sec.map((x) => x.toFixed(1)).join(" / ")}` +
      `${argonShare ? `; got ${argonCpu}% of the cores` : ""} | | | |`,
  );
}
out.push("");

// Ratios, each from figures of this one run.
const rps = (key, scenario) => results[key]?.[scenario]?.rps;
const label = (key) => servers.find((s) => s.key === key)?.label ?? key;
const ratio = (name, num, den, unitNum, unitDen) =>
  out.push(
    num == null || den == null || den === 0
      ? `- ${name}: n/a (missing figure)`
      : `- ${name}: **${(num / den).toFixed(2)}** (${num.toFixed(1)} ${unitNum} / ${den.toFixed(1)} ${unitDen})`,
  );
out.push("Ratios (same run):", "");
// Only servers this run included (SERVERS); a skipped or failed one shows as n/a.
const present = (keys) => keys.filter((key) => servers.some((s) => s.key === key));
const authlogKeys = present(["authlog-sqlite", "authlog-sqlite-nocache", "authlog-postgres", "authlog-postgres-nocache"]);
for (const key of authlogKeys) {
  ratio(`${label(key)} get-session / ${label("reference")} get-session`, rps(key, "get-session"), rps("reference", "get-session"), "req/s", "req/s");
}
// "before/after" hashes/s of the Argon2id limit measured around one server's benchmark.
const aroundOf = (key) => {
  const [before, after] = (servers.find((s) => s.key === key)?.argon2_around ?? "").split("/").map(Number);
  return before > 0 && after > 0 ? { before, after } : null;
};
const argonIdle = argon && argonShare && argonShare < 0.9 ? argon.hashes_per_sec / argonShare : null;
for (const key of present(["authlog-sqlite", "authlog-postgres"])) {
  for (const scenario of ["sign-in", "sign-up"]) {
    ratio(`${label(key)} ${scenario} / Argon2id limit`, rps(key, scenario), argon?.hashes_per_sec, "req/s", "hashes/s");
    if (argonIdle) {
      ratio(`${label(key)} ${scenario} / Argon2id limit scaled to idle cores (estimate)`, rps(key, scenario), argonIdle, "req/s", "hashes/s");
    }
    // The limit measured right before and right after this server's benchmark (the
    // machine's speed drifts over minutes): against their mean.
    const around = aroundOf(key);
    if (around) {
      ratio(
        `${label(key)} ${scenario} / Argon2id limit measured around it (${around.before.toFixed(1)} before, ${around.after.toFixed(1)} after)`,
        rps(key, scenario), (around.before + around.after) / 2, "req/s", "hashes/s (mean)",
      );
    }
  }
}
for (const key of present(["reference", ...authlogKeys])) {
  ratio(`${label(key)} get-session / ${label("hello")} ceiling`, rps(key, "get-session"), rps("hello", "get-session"), "req/s", "req/s");
}
// The cookie cache: a hit (token + session_data cookies) against the reference's hit, and
// against the hello ceiling.
const refCache = "reference-cookie-cache";
const cacheKeys = present(["authlog-sqlite-cache-compact", "authlog-sqlite-cache-jwt", "authlog-sqlite-cache-jwe", "authlog-postgres-cache-compact"]);
if (present([refCache, ...cacheKeys]).length) out.push("", "Cookie cache (get-session-cache: a cache hit, token and session_data cookies):", "");
for (const key of cacheKeys) {
  ratio(`${label(key)} cache hit / ${label(refCache)} cache hit`, rps(key, "get-session-cache"), rps(refCache, "get-session-cache"), "req/s", "req/s");
}
if (present([refCache]).length) {
  ratio(`${label(refCache)} cache hit / its get-session without session_data`, rps(refCache, "get-session-cache"), rps(refCache, "get-session"), "req/s", "req/s");
}
for (const key of present([refCache, ...cacheKeys])) {
  ratio(`${label(key)} cache hit / ${label("hello")} ceiling`, rps(key, "get-session-cache"), rps("hello", "get-session"), "req/s", "req/s");
}
// Two instances on one PostgreSQL and NATS, the load split across them, against one instance.
const pair = "authlog-postgres-nats-2x";
if (present([pair]).length) {
  out.push("", "Two instances (PostgreSQL + NATS, load split across both, req/s summed):", "");
  for (const scenario of ["get-session", "sign-in"]) {
    ratio(`${label(pair)} ${scenario} / ${label("authlog-postgres")} ${scenario}`, rps(pair, scenario), rps("authlog-postgres", scenario), "req/s", "req/s");
  }
  ratio(`${label(pair)} sign-in / Argon2id limit`, rps(pair, "sign-in"), argon?.hashes_per_sec, "req/s", "hashes/s");
  ratio(`${label(pair)} get-session / ${label("hello")} ceiling`, rps(pair, "get-session"), rps("hello", "get-session"), "req/s", "req/s");
  const published = servers.find((s) => s.key === pair)?.published;
  if (published) out.push(`- events in the NATS stream / in the log after the run: ${published}`);
}
out.push("");
out.push("Memory (MiB): idle = after preparing the users (VmRSS/VmHWM); peak = VmHWM read just before stopping the server.", "");
for (const s of servers.filter((s) => !s.skipped)) {
  const peak = s.peak_b_kib == null ? mib(s.peak_kib) : `${mib(s.peak_kib)} + ${mib(s.peak_b_kib)} (A + B)`;
  out.push(`- ${s.label}: idle ${s.idle}, peak ${peak}`);
}

// Other work on the machine (a build, a test suite) takes cores from whatever is measured.
const argonBusy = process.env.ARGON2_BUSY;
out.push("", "Machine load (CPU busy % over 1 s, before/after each server's benchmark, server idle or stopped):", "");
if (argon) out.push(`- Argon2id limit: ${argonBusy ?? "n/a"}% busy before; its threads got ${argonCpu ?? "n/a"}% of their cores`);
for (const s of servers.filter((s) => s.busy)) out.push(`- ${s.label}: ${s.busy}`);

const BUSY_LIMIT = Number(process.env.IDLE_BUSY ?? 10);
const problems = [];
if (argon && (Number(argonBusy) > BUSY_LIMIT || Number(argonCpu) < 90)) {
  problems.push(`the machine was not idle around the Argon2id measurement (${argonBusy}% busy, threads got ${argonCpu}%): the limit is understated`);
}
for (const s of servers.filter((s) => s.busy)) {
  const loads = s.busy.split("/").map(Number);
  if (loads.some((x) => x > BUSY_LIMIT)) problems.push(`${s.label}: the machine was busy with other work (${s.busy}%): its figures are understated`);
}
for (const s of servers) {
  for (const [scenario, r] of Object.entries(results[s.key])) {
    if (r.non2xx) problems.push(`${s.label} ${scenario}: ${r.non2xx} non-2xx/3xx responses`);
    if (r.sockErrors) problems.push(`${s.label} ${scenario}: ${r.sockErrors} socket errors (connect/read/write/timeout)`);
  }
  if (s.failed) problems.push(`${s.label}: ${s.failed}`);
  for (const scenario of (s.scenarios ?? "").split(" ").filter(Boolean)) {
    if (s.skipped || s.failed || results[s.key][scenario]) continue;
    const why = scenario === "get-session-cache" ? " (bench.sh skips it when sign-in sets no session_data cookie)" : "";
    problems.push(`${s.label}: no ${scenario} figure${why}`);
  }
  if (s.published) {
    const [stream, log] = s.published.split("/");
    if (stream !== log) problems.push(`${s.label}: the NATS stream holds ${stream} events, the log ${log}: the fan-out fell behind or failed`);
  }
}
if (problems.length) out.push("", "Problems:", "", ...problems.map((p) => `- ${p}`));
console.log(out.join("\n"));
